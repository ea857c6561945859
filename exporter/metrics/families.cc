#include "exporter/metrics/families.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>
#include <utility>

namespace cbe::metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

Labels With(Labels labels, std::initializer_list<ClientMetric::Label> more) {
  labels.insert(labels.end(), more);
  return labels;
}

Family::Family(std::string name, std::string help, MetricType type, std::size_t chunk)
    : chunk_(chunk) {
  family_.name = std::move(name);
  family_.help = std::move(help);
  family_.type = type;
}

void Family::Add(Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (family_.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family_.metric.push_back(std::move(m));
  if (chunk_ != 0 && family_.metric.size() >= chunk_) {
    Flush();
  }
}

void Family::Reserve(std::size_t n) {
  family_.metric.reserve(chunk_ != 0 ? std::min(n, chunk_) : n);
}

std::string Family::TakeText() {
  Flush();
  return std::move(text_);
}

// Serializes the samples held so far and appends them to text_. The first chunk carries the
// family's # HELP and # TYPE lines; later chunks are serialized the same way and lose them.
void Family::Flush() {
  if (family_.metric.empty()) {
    return;
  }
  std::vector<MetricFamily> one(1);
  one[0].name = family_.name;
  one[0].help = family_.help;
  one[0].type = family_.type;
  one[0].metric = std::move(family_.metric);
  family_.metric.clear();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, one);
  std::string chunk = std::move(out).str();
  std::size_t body = 0;
  if (!text_.empty()) {
    while (body < chunk.size() && chunk[body] == '#') {
      const std::size_t eol = chunk.find('\n', body);
      body = eol == std::string::npos ? chunk.size() : eol + 1;
    }
  }
  text_.append(chunk, body);
}

Family& Families::Add(std::string name, std::string help, MetricType type) {
  return families_.emplace_back(std::move(name), std::move(help), type, chunk_);
}

void Families::Render(const std::function<void(std::string_view)>& sink) {
  for (Family& f : families_) {
    const std::string text = f.TakeText();
    if (!text.empty()) {
      sink(text);
    }
  }
}

}  // namespace cbe::metrics
