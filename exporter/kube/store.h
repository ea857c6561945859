#pragma once

// The objects of one resource as the reader last saw them, already read into the engine's types,
// and that resource's statistics. Written by its reflector's thread, read by whoever builds the
// view; thread-safe. An object that cannot be read never replaces a good version of it: the last
// good one stays and the object is listed as rejected, with the reason, until a readable
// version (or its deletion) arrives.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "exporter/intent/resources.h"
#include "exporter/kube/calico_objects.h"
#include "exporter/kube/protocol.h"
#include "exporter/kube/stats.h"

namespace cbe::kube {

// An object kept out of the view (or held at its last good version).
struct RejectedObject {
  std::string object;   // "BGPPeer/name"
  std::string message;  // why, from the engine's reader
  bool operator==(const RejectedObject&) const = default;
};

class ResourceStore {
 public:
  explicit ResourceStore(ResourceType type);

  const ResourceType& type() const { return type_; }

  // What one LIST gave: readable objects by name and the reasons of the others. Replaces the
  // view of this resource; an unreadable object that had a good version keeps it.
  void Replace(std::map<std::string, CalicoObject> objects,
               std::map<std::string, std::string> rejected, double now_unix);
  // One watch event. Returns true when the view changed (a MODIFIED event that changes nothing
  // Calico's BGP reads, such as a Node's status, changes nothing).
  bool Upsert(const std::string& name, CalicoObject object, double now_unix);
  bool Reject(const std::string& name, const std::string& message, double now_unix);
  bool Remove(const std::string& name, double now_unix);
  // A bookmark, or a watch that opened: the view is current at this time.
  void Touch(double now_unix);

  bool listed() const;
  // Appends this resource's objects (by name) to `cluster`, and its rejected ones.
  void AddTo(intent::Cluster& cluster, std::vector<RejectedObject>& rejected) const;

  // Statistics.
  void CountRequest(bool watch);
  void CountEvent();
  void CountWatchEnd(WatchEnd end);
  void CountError(ErrorKind kind, const std::string& message);
  void SetWatching(bool watching);
  ResourceStats Stats() const;

 private:
  std::string Id(const std::string& name) const { return type_.kind + "/" + name; }

  const ResourceType type_;
  mutable std::mutex mu_;
  std::map<std::string, CalicoObject> objects_;
  std::map<std::string, std::string> rejected_;
  ResourceStats stats_;
};

}  // namespace cbe::kube
