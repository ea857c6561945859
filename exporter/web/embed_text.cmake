# Writes a C++ file that defines `extern const std::string_view NAME` with the bytes of INPUT,
# as a raw string literal: docs/runbook.md becomes part of the binary at build time.
#   cmake -DINPUT=docs/runbook.md -DOUTPUT=runbook_text.cc -DNAME=cbe::kRunbookMarkdown
#         -DHEADER=exporter/web/runbook_page.h -P embed_text.cmake
file(READ "${INPUT}" text)
set(delimiter "cbe_text")  # 16 characters at most
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )${delimiter}\"")
endif()
string(REGEX REPLACE "^(.*)::([^:]+)$" "\\1" namespace "${NAME}")
string(REGEX REPLACE "^(.*)::([^:]+)$" "\\2" variable "${NAME}")
file(WRITE "${OUTPUT}.tmp"
  "// GENERATED from ${INPUT} by exporter/web/embed_text.cmake at build time. Do not edit.\n"
  "#include \"${HEADER}\"\n\n"
  "namespace ${namespace} {\n\n"
  "const std::string_view ${variable} = R\"${delimiter}(${text})${delimiter}\";\n\n"
  "}  // namespace ${namespace}\n")
# Only a changed text touches the output (and recompiles it).
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
