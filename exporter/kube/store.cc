#include "exporter/kube/store.h"

namespace cbe::kube {

ResourceStore::ResourceStore(ResourceType type) : type_(std::move(type)) {
  stats_.resource = type_.plural;
  stats_.api_version = type_.api_version;
}

void ResourceStore::Replace(std::map<std::string, CalicoObject> objects,
                            std::map<std::string, std::string> rejected, double now_unix) {
  std::lock_guard lock(mu_);
  for (const auto& [name, message] : rejected) {
    if (const auto old = objects_.find(name); old != objects_.end()) {
      objects.emplace(name, std::move(old->second));  // the last good version stays
    }
  }
  objects_ = std::move(objects);
  rejected_ = std::move(rejected);
  stats_.listed = true;
  stats_.last_sync_unix = now_unix;
}

bool ResourceStore::Upsert(const std::string& name, CalicoObject object, double now_unix) {
  std::lock_guard lock(mu_);
  stats_.last_sync_unix = now_unix;
  const bool was_rejected = rejected_.erase(name) > 0;
  const auto it = objects_.find(name);
  if (it != objects_.end() && it->second == object) {
    return was_rejected;  // e.g. a Node's status changed: nothing Calico's BGP reads
  }
  objects_.insert_or_assign(name, std::move(object));
  return true;
}

bool ResourceStore::Reject(const std::string& name, const std::string& message, double now_unix) {
  std::lock_guard lock(mu_);
  stats_.last_sync_unix = now_unix;
  auto [it, inserted] = rejected_.try_emplace(name, message);
  if (!inserted && it->second == message) {
    return false;
  }
  it->second = message;
  return true;
}

bool ResourceStore::Remove(const std::string& name, double now_unix) {
  std::lock_guard lock(mu_);
  stats_.last_sync_unix = now_unix;
  const bool removed = objects_.erase(name) > 0;
  return rejected_.erase(name) > 0 || removed;
}

void ResourceStore::Touch(double now_unix) {
  std::lock_guard lock(mu_);
  stats_.last_sync_unix = now_unix;
}

bool ResourceStore::listed() const {
  std::lock_guard lock(mu_);
  return stats_.listed;
}

void ResourceStore::AddTo(intent::Cluster& cluster, std::vector<RejectedObject>& rejected) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, object] : objects_) {
    kube::AddTo(cluster, object);
  }
  for (const auto& [name, message] : rejected_) {
    rejected.push_back({Id(name), message});
  }
}

void ResourceStore::CountRequest(bool watch) {
  std::lock_guard lock(mu_);
  ++(watch ? stats_.watch_requests : stats_.list_requests);
}

void ResourceStore::CountEvent() {
  std::lock_guard lock(mu_);
  ++stats_.events;
}

void ResourceStore::CountWatchEnd(WatchEnd end) {
  std::lock_guard lock(mu_);
  ++stats_.watch_restarts[static_cast<std::size_t>(end)];
}

void ResourceStore::CountError(ErrorKind kind, const std::string& message) {
  std::lock_guard lock(mu_);
  ++stats_.errors[static_cast<std::size_t>(kind)];
  stats_.last_error = std::string(ErrorKindName(kind)) + ": " + message;
}

void ResourceStore::SetWatching(bool watching) {
  std::lock_guard lock(mu_);
  stats_.watching = watching;
}

ResourceStats ResourceStore::Stats() const {
  std::lock_guard lock(mu_);
  ResourceStats s = stats_;
  s.objects = objects_.size();
  s.rejected = rejected_.size();
  return s;
}

}  // namespace cbe::kube
