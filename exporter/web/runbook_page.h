#pragma once

// /runbook: docs/runbook.md as it was when the binary was built, embedded at build time
// (exporter/web/embed_text.cmake) and rendered as simple HTML, so that an alert's runbook link to
// an exporter always leads to the runbook of the version that runs there. Every heading gets
// GitHub's anchor (`## cause-port_closed` -> id="cause-port_closed", `## CalicoBGPPeerDown` ->
// id="calicobgppeerdown"): the same links work on the exporter and on a copy of the repository.

#include <string>
#include <string_view>

namespace cbe {

// docs/runbook.md, verbatim (generated runbook_text.cc).
extern const std::string_view kRunbookMarkdown;

// GitHub's anchor of a heading: lower case; letters, digits, '-' and '_' kept; each space a '-';
// everything else dropped.
std::string HeadingAnchor(std::string_view heading);

// The Markdown the docs use, as an HTML fragment: ATX headings (with HeadingAnchor ids, "-1",
// "-2" ... on repeats), paragraphs, fenced code blocks, `-`/`*` and numbered lists (indented
// lines continue an item), pipe tables, and inline `code`, **bold** and [links](#anchor) (links
// to anything but an anchor or http(s) keep only their text). Every text is HTML-escaped;
// nothing of the input becomes markup but these. Pure.
std::string MarkdownToHtml(std::string_view markdown);

// The whole /runbook document: kRunbookMarkdown rendered once, with the version that built it.
const std::string& RunbookPage();

}  // namespace cbe
