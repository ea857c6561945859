#include "exporter/base/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace cbe::logging {
namespace {

std::atomic<Format> g_format{Format::kLogfmt};

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
    case spdlog::level::critical:
      return "error";
    default:
      return "info";
  }
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void AppendEscaped(std::string* out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          *out += buf;
        } else {
          *out += c;
        }
    }
  }
}

void AppendPair(Format format, std::string* out, std::string_view key, std::string_view value) {
  if (format == Format::kJson) {
    *out += out->size() > 1 ? ",\"" : "\"";
    AppendEscaped(out, key);
    *out += "\":\"";
    AppendEscaped(out, value);
    *out += '"';
    return;
  }
  if (!out->empty()) {
    *out += ' ';
  }
  *out += key;
  *out += '=';
  if (NeedsQuotes(value)) {
    *out += '"';
    AppendEscaped(out, value);
    *out += '"';
  } else {
    *out += value;
  }
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

}  // namespace

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "logfmt") {
    return Format::kLogfmt;
  }
  if (name == "json") {
    return Format::kJson;
  }
  return std::nullopt;
}

std::optional<spdlog::level::level_enum> ParseLevel(std::string_view name) {
  if (name == "debug") {
    return spdlog::level::debug;
  }
  if (name == "info") {
    return spdlog::level::info;
  }
  if (name == "warn") {
    return spdlog::level::warn;
  }
  if (name == "error") {
    return spdlog::level::err;
  }
  return std::nullopt;
}

void Init(Format format, spdlog::level::level_enum level) {
  g_format = format;
  spdlog::drop("calico-bgp-exporter");
  auto logger = spdlog::stderr_logger_mt("calico-bgp-exporter");
  logger->set_pattern("%v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(std::move(logger));
}

std::string FormatLine(Format format, spdlog::level::level_enum level, std::string_view ts,
                       std::string_view msg, std::initializer_list<Field> fields) {
  std::string out;
  if (format == Format::kJson) {
    out += '{';
  }
  AppendPair(format, &out, "level", LevelName(level));
  AppendPair(format, &out, "ts", ts);
  for (const Field& f : fields) {
    AppendPair(format, &out, f.key, f.value);
  }
  AppendPair(format, &out, "msg", msg);
  if (format == Format::kJson) {
    out += '}';
  }
  return out;
}

void Write(spdlog::level::level_enum level, std::string_view msg,
           std::initializer_list<Field> fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) {
    return;
  }
  logger->log(level, "{}", FormatLine(g_format, level, Timestamp(), msg, fields));
}

}  // namespace cbe::logging
