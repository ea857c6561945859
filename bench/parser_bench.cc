// Microbenchmarks of the BIRD reply framing and parsers, in bytes of BIRD reply per second.
//
// Inputs: the recorded whole-daemon replies in tests/fixtures/bird1|bird2/
// (show_protocols_all__*, show_protocols__*, show_status__*), a synthetic 1000-protocol
// `show protocols all` per BIRD version (the BGP blocks of the all_states fixture repeated
// with renamed protocols), and, when bench/run sets CBE_BENCH_RECORDED (a ':'-separated list
// of files), the replies recorded from the real N=1000 lab of the same run.
//
//   parser_bench [--fixtures=DIR] [Google Benchmark flags]

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "probes/bird/framing.h"
#include "probes/bird/parser.h"

#ifndef CBE_FIXTURES_DIR
#define CBE_FIXTURES_DIR "tests/fixtures"
#endif

namespace {

namespace fs = std::filesystem;

struct Input {
  std::string name;  // "bird2/show_protocols_all__all_states"
  std::string data;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string_view> SplitLines(std::string_view data) {
  std::vector<std::string_view> lines;
  while (!data.empty()) {
    const std::size_t nl = data.find('\n');
    const std::size_t len = nl == std::string_view::npos ? data.size() : nl + 1;
    lines.push_back(data.substr(0, len));
    data.remove_prefix(len);
  }
  return lines;
}

// The name and proto columns of a protocol row ("1002-name proto ...").
std::pair<std::string_view, std::string_view> RowNameProto(std::string_view row) {
  std::string_view rest = row.substr(5);
  const std::size_t name_end = rest.find(' ');
  const std::string_view name = rest.substr(0, name_end);
  rest.remove_prefix(name_end == std::string_view::npos ? rest.size() : name_end);
  const std::size_t p = rest.find_first_not_of(' ');
  rest.remove_prefix(p == std::string_view::npos ? rest.size() : p);
  return {name, rest.substr(0, rest.find(' '))};
}

// A `show protocols all` reply with `count` BGP protocols: the header and non-BGP blocks of
// `all_states` once, then its BGP blocks repeated with the names suffixed "_<k>".
std::string SyntheticShowProtocolsAll(std::string_view all_states, int count) {
  const std::vector<std::string_view> lines = SplitLines(all_states);
  if (lines.size() < 3) {
    return {};
  }
  std::string header(lines.front());
  std::string footer(lines.back());
  std::string other;
  std::vector<std::vector<std::string_view>> bgp;
  std::vector<std::string_view>* current = nullptr;
  bool current_is_bgp = false;
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.substr(0, 5) == "1002-") {
      current_is_bgp = RowNameProto(line).second == "BGP";
      if (current_is_bgp) {
        bgp.emplace_back();
        current = &bgp.back();
      }
    }
    if (current_is_bgp && current != nullptr) {
      current->push_back(line);
    } else {
      other += line;
    }
  }
  if (bgp.empty()) {
    return {};
  }
  std::string out = header + other;
  for (int i = 0; i < count; ++i) {
    const auto& block = bgp[static_cast<std::size_t>(i) % bgp.size()];
    const std::string_view row = block.front();
    const std::string_view name = RowNameProto(row).first;
    out += "1002-";
    out += name;
    out += "_" + std::to_string(i);
    out += row.substr(5 + name.size());
    for (std::size_t l = 1; l < block.size(); ++l) {
      out += block[l];
    }
  }
  return out + footer;
}

std::vector<Input>& Inputs() {
  static std::vector<Input> inputs;
  return inputs;
}

void LoadInputs(const fs::path& fixtures) {
  for (const char* version : {"bird1", "bird2"}) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fixtures / version, ec)) {
      const std::string file = entry.path().filename().string();
      // Whole-daemon replies only (what a round reads); the one-protocol captures are tiny.
      if (entry.path().extension() == ".raw" &&
          (file.rfind("show_protocols_all__", 0) == 0 || file.rfind("show_protocols__", 0) == 0 ||
           file.rfind("show_status__", 0) == 0)) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      Inputs().push_back({std::string(version) + "/" + f.stem().string(), ReadFile(f)});
    }
    const std::string all_states =
        ReadFile(fixtures / version / "show_protocols_all__all_states.raw");
    const std::string synthetic = SyntheticShowProtocolsAll(all_states, 1000);
    if (!synthetic.empty()) {
      Inputs().push_back(
          {std::string(version) + "/synthetic_1000_bgp/show_protocols_all", synthetic});
    }
  }
  if (const char* recorded = std::getenv("CBE_BENCH_RECORDED"); recorded != nullptr) {
    std::string_view list = recorded;
    while (!list.empty()) {
      const std::size_t colon = list.find(':');
      const fs::path path(std::string(list.substr(0, colon)));
      list.remove_prefix(colon == std::string_view::npos ? list.size() : colon + 1);
      if (!path.empty() && fs::exists(path)) {
        // "bird2-n1000-show_protocols_all.raw" -> "lab/bird2-n1000-show_protocols_all".
        Inputs().push_back({"lab/" + path.stem().string(), ReadFile(path)});
      }
    }
  }
}

bool IsShowProtocols(const Input& in) {
  return in.name.find("show_protocols") != std::string::npos;
}

// The framing machine over a whole reply (one piece), and as the client feeds it: one read()
// of 64 KiB at a time.
void BM_ReplyStream(benchmark::State& state, const Input* in, std::size_t piece) {
  std::size_t lines = 0;
  for (auto _ : state) {
    cbe::bird::ReplyStream stream;
    lines = 0;
    auto status = cbe::bird::ReplyStream::Status::kNeedMore;
    for (std::size_t at = 0; at < in->data.size(); at += piece) {
      status = stream.Feed(std::string_view(in->data).substr(at, piece),
                           [&](const cbe::bird::ReplyLine& line) {
                             ++lines;
                             benchmark::DoNotOptimize(line.text.data());
                           });
    }
    if (status != cbe::bird::ReplyStream::Status::kComplete) {
      state.SkipWithError("reply is not complete");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(in->data.size()));
  state.counters["bytes"] = static_cast<double>(in->data.size());
  state.counters["lines"] = static_cast<double>(lines);
}

void BM_ParseShowProtocols(benchmark::State& state, const Input* in) {
  std::size_t protocols = 0;
  for (auto _ : state) {
    auto result = cbe::bird::ParseShowProtocols(in->data);
    if (!result) {
      state.SkipWithError("parse failed");
      break;
    }
    protocols = result->protocols.size();
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(in->data.size()));
  state.counters["bytes"] = static_cast<double>(in->data.size());
  state.counters["protocols"] = static_cast<double>(protocols);
}

void BM_ParseShowStatus(benchmark::State& state, const Input* in) {
  for (auto _ : state) {
    auto result = cbe::bird::ParseShowStatus(in->data);
    if (!result) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(in->data.size()));
  state.counters["bytes"] = static_cast<double>(in->data.size());
}

void RegisterAll() {
  constexpr std::size_t kReadSize = 64 * 1024;  // The client's read() size.
  for (const Input& in : Inputs()) {
    const Input* p = &in;
    benchmark::RegisterBenchmark(("BM_ReplyStream/" + in.name).c_str(), BM_ReplyStream, p,
                                 in.data.size());
    if (in.data.size() > kReadSize) {
      benchmark::RegisterBenchmark(("BM_ReplyStreamChunked/" + in.name).c_str(), BM_ReplyStream, p,
                                   kReadSize);
    }
    if (IsShowProtocols(in)) {
      benchmark::RegisterBenchmark(("BM_ParseShowProtocols/" + in.name).c_str(),
                                   BM_ParseShowProtocols, p);
    } else {
      benchmark::RegisterBenchmark(("BM_ParseShowStatus/" + in.name).c_str(), BM_ParseShowStatus,
                                   p);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  fs::path fixtures = CBE_FIXTURES_DIR;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--fixtures=", 0) == 0) {
      fixtures = std::string(arg.substr(11));
    } else {
      args.push_back(argv[i]);
    }
  }
  LoadInputs(fixtures);
  if (Inputs().empty()) {
    std::cerr << "parser_bench: no fixtures under " << fixtures << "\n";
    return 1;
  }
  RegisterAll();
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
