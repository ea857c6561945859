#pragma once

// `calico-bgp-exporter intent ...`: the engine as a person's command.
//   intent sessions --node NAME [--output json|table] FILE...   the node's BGP sessions
//   intent findings [--output json|table] FILE...                 exit 1 when there is one
// FILE is YAML or JSON as `calicoctl get ... -o yaml` or `kubectl get ... -o yaml` print it;
// "-" reads `in`. Exit codes: 0 ok, 1 findings, 2 usage or input errors.

#include <iosfwd>
#include <string>
#include <vector>

#include "exporter/intent/sessions.h"

namespace cbe::intent {

// `args` are the words after "intent".
int RunIntentCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                     std::ostream& err);

// The JSON object `intent sessions --output json` prints for one session.
std::string SessionJson(const Session& s);

}  // namespace cbe::intent
