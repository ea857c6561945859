#pragma once

// Structured logs through spdlog, as logfmt (default) or JSON:
//   level=warn ts=2026-11-26T07:42:36.123Z probe=bird daemon=bird msg="BIRD is down"

#include <spdlog/common.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace cbe::logging {

enum class Format { kLogfmt, kJson };

struct Field {
  std::string_view key;
  std::string value;
};

std::optional<Format> ParseFormat(std::string_view name);
std::optional<spdlog::level::level_enum> ParseLevel(std::string_view name);

// Installs the stderr logger. Safe to call again (the last call wins).
void Init(Format format, spdlog::level::level_enum level);

// Formats one line without writing it (for tests).
std::string FormatLine(Format format, spdlog::level::level_enum level, std::string_view ts,
                       std::string_view msg, std::initializer_list<Field> fields);

void Write(spdlog::level::level_enum level, std::string_view msg,
           std::initializer_list<Field> fields = {});

inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(spdlog::level::debug, msg, fields);
}
inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(spdlog::level::info, msg, fields);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(spdlog::level::warn, msg, fields);
}
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(spdlog::level::err, msg, fields);
}

}  // namespace cbe::logging
