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

Family::Family(Families* owner, std::string name, std::string help, MetricType type,
               std::size_t chunk)
    : owner_(owner), chunk_(chunk) {
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

void Family::Close() {
  if (closed_) {
    return;
  }
  Flush();
  closed_ = true;
  family_.metric.shrink_to_fit();
  owner_->Advance();
}

// Serializes the samples held so far and sends them on (or holds them). The first chunk
// carries the family's # HELP and # TYPE lines; later chunks are serialized the same way and
// lose them.
void Family::Flush() {
  if (family_.metric.empty()) {
    return;
  }
  std::vector<MetricFamily> one(1);
  one[0].name = family_.name;
  one[0].help = family_.help;
  one[0].type = family_.type;
  one[0].metric = std::move(family_.metric);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, one);
  family_.metric = std::move(one[0].metric);  // Its room serves the next chunk.
  family_.metric.clear();
  const std::string chunk = std::move(out).str();
  std::size_t body = 0;
  if (has_text_) {
    while (body < chunk.size() && chunk[body] == '#') {
      const std::size_t eol = chunk.find('\n', body);
      body = eol == std::string::npos ? chunk.size() : eol + 1;
    }
  }
  has_text_ = true;
  const std::string_view text = std::string_view(chunk).substr(body);
  if (streaming_) {
    owner_->sink_(text);
  } else {
    text_.append(text);
  }
}

void Family::Stream() {
  streaming_ = true;
  if (!text_.empty()) {
    owner_->sink_(text_);
  }
  std::string().swap(text_);
}

Family& Families::Add(std::string name, std::string help, MetricType type) {
  Family& f = families_.emplace_back(this, std::move(name), std::move(help), type, chunk_);
  if (front_ == families_.size() - 1) {
    f.Stream();
  }
  return f;
}

void Families::CloseAll() {
  for (Family& f : families_) {
    f.Close();
  }
}

void Families::Advance() {
  while (front_ < families_.size() && families_[front_].closed_) {
    families_[front_].Stream();  // Whatever it held, now that the families before it are sent.
    ++front_;
  }
  if (front_ < families_.size()) {
    families_[front_].Stream();
  }
}

}  // namespace cbe::metrics
