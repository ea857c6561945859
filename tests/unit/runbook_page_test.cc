#include "exporter/web/runbook_page.h"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>

#include "exporter/core/diagnosis.h"
#include "exporter/web/http_pages.h"

namespace cbe {
namespace {

TEST_CASE("HeadingAnchor: GitHub's anchors", "[unit]") {
  CHECK(HeadingAnchor("CalicoBGPPeerDown") == "calicobgppeerdown");
  CHECK(HeadingAnchor("cause-port_closed") == "cause-port_closed");
  CHECK(HeadingAnchor("Causes: what the exporter diagnoses for each session") ==
        "causes-what-the-exporter-diagnoses-for-each-session");
  CHECK(HeadingAnchor("Routing the alerts (Alertmanager)") == "routing-the-alerts-alertmanager");
  CHECK(HeadingAnchor("<b onmouseover=\"x\">") == "b-onmouseoverx");
}

TEST_CASE("MarkdownToHtml: the blocks the runbook uses", "[unit]") {
  CHECK(MarkdownToHtml("# Title\n\nOne\nparagraph.\n\n## cause-port_closed\n") ==
        "<h1 id=\"title\">Title</h1>\n<p>One\nparagraph.</p>\n"
        "<h2 id=\"cause-port_closed\">cause-port_closed</h2>\n");
  CHECK(MarkdownToHtml("```sh\n# not a heading\nkubectl get pod\n```\nafter\n") ==
        "<pre><code># not a heading\nkubectl get pod\n</code></pre>\n<p>after</p>\n");
  CHECK(MarkdownToHtml("- one `a|b`\n  continued\n- two\n\n1. first\n2. second\n") ==
        "<ul>\n<li>one <code>a|b</code> continued</li>\n<li>two</li>\n</ul>\n"
        "<ol>\n<li>first</li>\n<li>second</li>\n</ol>\n");
  CHECK(MarkdownToHtml("| a | b |\n|---|---|\n| `x|y` | **z** |\n") ==
        "<table>\n<tr><th>a</th><th>b</th></tr>\n"
        "<tr><td><code>x|y</code></td><td><strong>z</strong></td></tr>\n</table>\n");
  CHECK(MarkdownToHtml("see [Causes](#causes) and [the site](https://example.com/a?b=1&c=2)") ==
        "<p>see <a href=\"#causes\">Causes</a> and "
        "<a href=\"https://example.com/a?b=1&amp;c=2\">the site</a></p>\n");
  CHECK(MarkdownToHtml("## x\n## x\n## x\n") ==
        "<h2 id=\"x\">x</h2>\n<h2 id=\"x-1\">x</h2>\n<h2 id=\"x-2\">x</h2>\n");
}

TEST_CASE("MarkdownToHtml: every text is escaped, nothing of the input becomes markup", "[unit]") {
  const std::string html = MarkdownToHtml(
      "# <script>alert(1)</script>\n\n"
      "Text <img src=x onerror=alert(1)> & 'quotes' \"too\".\n\n"
      "`<b>code</b>` **<i>bold</i>**\n\n"
      "```\n</code></pre><script>x</script>\n```\n\n"
      "| <td> | x |\n|---|---|\n| <tr> | y |\n\n"
      "- <li>item</li>\n\n"
      "[click](javascript:alert(1)) [q](#a\"onmouseover=\"x)\n");
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<b>") == std::string::npos);
  CHECK(html.find("<i>") == std::string::npos);
  CHECK(html.find("<td> ") == std::string::npos);
  CHECK(html.find("<li>item") == std::string::npos);
  CHECK(html.find("javascript:") == std::string::npos);
  CHECK(html.find("\"onmouseover") == std::string::npos);
  CHECK(html.find(
            "Text &lt;img src=x onerror=alert(1)&gt; &amp; &#39;quotes&#39; &quot;too&quot;.") !=
        std::string::npos);
  CHECK(html.find("<pre><code>&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;\n</code>") !=
        std::string::npos);
  // A link ends at its first ")": the second one is text.
  CHECK(html.find("<p>click) <a href=\"#a&quot;onmouseover=&quot;x\">q</a></p>") !=
        std::string::npos);
}

TEST_CASE("RunbookPage: docs/runbook.md of this build, a section for every cause and alert",
          "[unit]") {
  const std::string& page = RunbookPage();
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(kRunbookMarkdown.find("# Runbook: calico-bgp-exporter alerts") == 0);
  for (Cause cause : AllCauses()) {
    const std::string id = "id=\"cause-" + std::string(CauseName(cause)) + "\"";
    INFO(id);
    CHECK(page.find(id) != std::string::npos);
  }
  for (const char* alert : {"calicobgppeerdown", "calicobgpbirddown", "calicobgpexporterabsent"}) {
    INFO(alert);
    CHECK(page.find("id=\"" + std::string(alert) + "\"") != std::string::npos);
  }
  // Every link inside the page leads to one of its headings.
  std::set<std::string> ids;
  const std::regex id_re("id=\"([^\"]+)\"");
  for (auto m = std::sregex_iterator(page.begin(), page.end(), id_re); m != std::sregex_iterator();
       ++m) {
    ids.insert((*m)[1]);
  }
  const std::regex href_re("href=\"#([^\"]+)\"");
  int links = 0;
  for (auto m = std::sregex_iterator(page.begin(), page.end(), href_re);
       m != std::sregex_iterator(); ++m, ++links) {
    INFO((*m)[1]);
    CHECK(ids.count((*m)[1]) == 1);
  }
  CHECK(links > 0);
}

// --- over HTTP, through the pages' civetweb callbacks on 127.0.0.1 ---------------------------

class ManualClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return {}; }
  std::chrono::steady_clock::time_point Monotonic() const override { return {}; }
};

// Basic auth as the web config asks for it: one user, "Basic dTpw" (u:p).
class OneUser final : public PageAccess {
 public:
  bool Authorized(const char* authorization) const override {
    return authorization != nullptr && std::string(authorization) == "Basic dTpw";
  }
  std::string ExtraHeaders() const override { return ""; }
};

// The whole answer (headers and body) to one request.
std::string Get(int port, const std::string& path, const std::string& extra_header = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" + extra_header + "\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[16384];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) {
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

TEST_CASE("/runbook over HTTP: 200, HTML, the page; basic auth as on every path", "[unit]") {
  ManualClock clock;
  SnapshotStore store;
  HttpPages pages({"/metrics", std::chrono::milliseconds(5000)}, &store, &clock);
  CivetServer server({"listening_ports", "127.0.0.1:0", "num_threads", "2"}, pages.Callbacks());
  const int port = server.getListeningPorts().at(0);

  const std::string open = Get(port, "/runbook");
  CHECK(open.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(open.find("\r\nContent-Type: text/html; charset=utf-8\r\n") != std::string::npos);
  CHECK(open.substr(open.find("\r\n\r\n") + 4) == RunbookPage());
  CHECK(Get(port, "/").find("<a href=\"/runbook\">Runbook</a>") != std::string::npos);

  OneUser access;
  pages.SetAccess(&access);
  for (const char* path : {"/runbook", "/", "/healthz", "/metrics"}) {
    INFO(path);
    CHECK(Get(port, path).rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
    CHECK(Get(port, path, "Authorization: Basic dTpx\r\n").rfind("HTTP/1.1 401", 0) == 0);
  }
  CHECK(Get(port, "/runbook", "Authorization: Basic dTpw\r\n").rfind("HTTP/1.1 200 OK\r\n", 0) ==
        0);
  pages.SetAccess(nullptr);
}

}  // namespace
}  // namespace cbe
