#include "exporter/intent/cli.h"

#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "exporter/intent/findings.h"
#include "exporter/intent/resources.h"
#include "exporter/intent/session_json.h"

namespace cbe::intent {
namespace {

constexpr int kExitFindings = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: calico-bgp-exporter intent sessions --node NAME [--output json|table] FILE...\n"
    "       calico-bgp-exporter intent findings [--output json|table] FILE...\n"
    "       calico-bgp-exporter intent serve [--kubeconfig FILE] [--web.listen-address ADDR] "
    "...\n"
    "       (serve: the sessions of every node from the Kubernetes API; serve --help)\n"
    "FILE: YAML or JSON documents as calicoctl or kubectl print them (List objects too);\n"
    "      \"-\" reads standard input.\n";

struct Options {
  std::string command;
  std::string node;
  std::string output = "table";
  std::vector<std::string> files;
};

// Parses the words after "intent"; an error message, or "".
std::string ParseArgs(const std::vector<std::string>& args, Options& o) {
  if (args.empty()) {
    return "missing command (sessions or findings)";
  }
  o.command = args[0];
  if (o.command != "sessions" && o.command != "findings") {
    return "unknown command \"" + o.command + "\" (sessions or findings)";
  }
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& flag, std::string& into) -> std::string {
      if (a == flag) {
        if (i + 1 >= args.size()) {
          return flag + " needs a value";
        }
        into = args[++i];
        return "";
      }
      into = a.substr(flag.size() + 1);
      return "";
    };
    std::string error;
    if (a == "--node" || a.starts_with("--node=")) {
      error = value("--node", o.node);
    } else if (a == "--output" || a.starts_with("--output=")) {
      error = value("--output", o.output);
    } else if (a.size() > 1 && a[0] == '-') {
      error = "unknown flag " + a;
    } else {
      o.files.push_back(a);
    }
    if (!error.empty()) {
      return error;
    }
  }
  if (o.output != "json" && o.output != "table") {
    return "--output must be json or table, not \"" + o.output + "\"";
  }
  if (o.command == "sessions" && o.node.empty()) {
    return "sessions needs --node NAME";
  }
  if (o.command == "findings" && !o.node.empty()) {
    return "findings takes no --node (it checks every node)";
  }
  if (o.files.empty()) {
    return "no FILE given (\"-\" reads standard input)";
  }
  return "";
}

// Reads every file into one cluster; prints the errors and returns false when there is one.
bool LoadFiles(const Options& o, std::istream& in, std::ostream& err, Cluster& cluster) {
  bool ok = true;
  for (const std::string& file : o.files) {
    std::string text;
    if (file == "-") {
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else {
      std::ifstream f(file, std::ios::binary);
      if (!f) {
        err << "intent: " << file << ": cannot open\n";
        ok = false;
        continue;
      }
      text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    for (const LoadError& e : AddDocuments(text, file == "-" ? "<stdin>" : file, cluster)) {
      err << "intent: " << e.Format() << "\n";
      ok = false;
    }
  }
  return ok;
}

void PrintSessionTable(const std::vector<Session>& sessions, std::ostream& out) {
  out << std::left << std::setw(34) << "PROTOCOL" << std::setw(28) << "NEIGHBOR" << std::setw(12)
      << "PEER AS" << std::setw(12) << "LOCAL AS" << std::setw(8) << "TYPE" << std::setw(8)
      << "PASSIVE" << std::setw(10) << "RR CLIENT"
      << "SOURCE\n";
  for (const Session& s : sessions) {
    std::string neighbor = s.neighbor_address;
    if (s.neighbor_port != 0) {
      neighbor += " port " + std::to_string(s.neighbor_port);
    }
    out << std::setw(34) << s.protocol << std::setw(28) << neighbor << std::setw(12)
        << s.neighbor_as << std::setw(12) << s.local_as << std::setw(8) << PeerTypeName(s.peer_type)
        << std::setw(8) << (s.passive ? "yes" : "no") << std::setw(10)
        << (s.rr_client ? "yes" : "no") << s.source << (s.reverse ? " (reverse)" : "") << "\n";
  }
}

int Sessions(const Options& o, const PeeringModel& model, std::ostream& out, std::ostream& err) {
  const NodeSessions ns = model.SessionsFor(o.node);
  if (!ns.ok()) {
    err << "intent: " << ns.error << "\n";
    return kExitUsage;
  }
  if (o.output == "json") {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Session& s : ns.sessions) {
      list.push_back(SessionToJson(s));
    }
    out << list.dump(2) << "\n";
  } else {
    PrintSessionTable(ns.sessions, out);
  }
  return 0;
}

int Findings(const Options& o, const PeeringModel& model, std::ostream& out) {
  const std::vector<Finding> findings = FindProblems(model);
  if (o.output == "json") {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Finding& f : findings) {
      list.push_back(FindingToJson(f));
    }
    out << list.dump(2) << "\n";
  } else if (findings.empty()) {
    out << "no findings\n";
  } else {
    for (const Finding& f : findings) {
      out << FindingKindName(f.kind) << "  " << f.object << "  " << f.message << "\n";
    }
  }
  return findings.empty() ? 0 : kExitFindings;
}

}  // namespace

std::string SessionJson(const Session& s) { return SessionToJson(s).dump(); }

int RunIntentCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                     std::ostream& err) {
  for (const std::string& a : args) {
    if (a == "-h" || a == "--help") {
      out << kUsage;
      return 0;
    }
  }
  Options o;
  if (std::string error = ParseArgs(args, o); !error.empty()) {
    err << "intent: " << error << "\n" << kUsage;
    return kExitUsage;
  }
  Cluster cluster;
  if (!LoadFiles(o, in, err, cluster)) {
    return kExitUsage;
  }
  const PeeringModel model(std::move(cluster));
  return o.command == "sessions" ? Sessions(o, model, out, err) : Findings(o, model, out);
}

}  // namespace cbe::intent
