#include "exporter/kube/reflector.h"

#include <algorithm>
#include <cmath>

#include "exporter/base/logging.h"

namespace cbe::kube {
namespace {

constexpr int kStatusGone = 410;
// A LIST whose continue token expired is started again this often before it counts as failed.
constexpr int kListRestarts = 3;
// A watch that ends normally sooner than this after it opened is treated as a failure (backoff),
// so a server that closes every watch at once is not hammered.
constexpr std::chrono::seconds kShortWatch{1};

// "16 MiB", "4096 bytes".
std::string Size(std::size_t bytes) {
  return bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0
             ? std::to_string(bytes >> 20) + " MiB"
             : std::to_string(bytes) + " bytes";
}

}  // namespace

ErrorKind KindOfStatus(int http_status) {
  switch (http_status) {
    case 401:
      return ErrorKind::kUnauthorized;
    case 403:
      return ErrorKind::kForbidden;
    case 404:
      return ErrorKind::kNotFound;
    case 410:
      return ErrorKind::kExpired;
    case 429:
      return ErrorKind::kThrottled;
    default:
      return http_status >= 500 ? ErrorKind::kServerError : ErrorKind::kHttp;
  }
}

Reflector::Reflector(ResourceStore* store, ReflectorOptions options, ReflectorEnv env)
    : store_(store),
      options_(options),
      env_(std::move(env)),
      backoff_(options.backoff, env_.random01) {}

void Reflector::Stop() {
  {
    std::lock_guard lock(wait_mu_);
    stop_ = true;
  }
  wait_cv_.notify_all();
}

bool Reflector::Wait(std::chrono::milliseconds delay) {
  std::unique_lock lock(wait_mu_);
  env_.clock->WaitUntil(lock, wait_cv_, env_.clock->Monotonic() + delay,
                        [this] { return stop_.load(); });
  return !stop_;
}

void Reflector::RecordError(ErrorKind kind, const std::string& message) {
  store_->CountError(kind, message);
  const ResourceType& t = store_->type();
  if (!failing_) {
    logging::Warn(
        "Kubernetes API request failed, retrying with backoff",
        {{"resource", t.Name()}, {"kind", std::string(ErrorKindName(kind))}, {"err", message}});
  } else {
    logging::Debug(
        "Kubernetes API request failed again",
        {{"resource", t.Name()}, {"kind", std::string(ErrorKindName(kind))}, {"err", message}});
  }
  failing_ = true;
}

void Reflector::RecordInvalid(const std::string& name, const std::string& message) {
  store_->CountError(ErrorKind::kInvalidObject, message);
  logging::Warn("object kept out of the view: its last good version, if any, stays",
                {{"resource", store_->type().Name()}, {"object", name}, {"err", message}});
}

void Reflector::RecordRecovery(const char* what) {
  if (failing_) {
    logging::Info("Kubernetes API answers again",
                  {{"resource", store_->type().Name()}, {"request", what}});
  }
  failing_ = false;
}

void Reflector::RecordFailure(const char* what, const HttpResponse& r) {
  const std::string prefix = std::string(what) + " " + store_->type().Path() + ": ";
  if (r.error) {
    RecordError(*r.error, prefix + r.message);
    return;
  }
  const Status s = DecodeStatus(r.error_body, r.status);
  RecordError(KindOfStatus(r.status), prefix + "HTTP " + std::to_string(r.status) + " " +
                                          (s.reason.empty() ? "" : s.reason + ": ") + s.message);
}

bool Reflector::Get(const std::string& path_and_query, HttpRequest& request,
                    HttpResponse& response) {
  Result<std::string> token = env_.token ? env_.token() : Result<std::string>(std::string());
  if (!token) {
    RecordError(ErrorKind::kUnauthorized, token.error().message);
    return false;
  }
  request.path_and_query = path_and_query;
  request.bearer_token = *token;
  response = env_.http->Get(request);
  return true;
}

void Reflector::Run() {
  while (!stop_) {
    if (resource_version_.empty()) {
      if (!List()) {
        if (!Wait(backoff_.Next())) {
          return;
        }
        continue;
      }
      backoff_.Reset();
    }
    const auto opened = env_.clock->Monotonic();
    const WatchEnd end = Watch();
    if (stop_) {
      return;
    }
    store_->CountWatchEnd(end);
    if (end == WatchEnd::kExpired) {
      resource_version_.clear();  // relist at once
      continue;
    }
    if (end == WatchEnd::kTimeout && env_.clock->Monotonic() - opened >= kShortWatch) {
      continue;  // the server ended it after timeoutSeconds: watch again at once
    }
    if (!Wait(backoff_.Next())) {
      return;
    }
  }
}

Reflector::PageOutcome Reflector::FetchPage(const std::string& continue_token,
                                            kube::ListPage& page) {
  const ResourceType& type = store_->type();
  std::string body;
  bool too_large = false;
  HttpRequest request;
  request.response_timeout = options_.request_timeout;
  request.idle_timeout = options_.request_timeout;
  request.total_timeout = options_.request_timeout * 10;
  request.on_body = [&](std::string_view chunk) {
    too_large = body.size() + chunk.size() > options_.max_page_bytes;
    body.append(too_large ? std::string_view() : chunk);
    return !too_large;
  };
  HttpResponse response;
  store_->CountRequest(/*watch=*/false);
  if (!Get(type.Path() + "?" + ListQuery(options_.page_size, continue_token), request, response) ||
      stop_) {
    return PageOutcome::kFailed;
  }
  if (too_large) {
    RecordError(ErrorKind::kTooLarge,
                "LIST " + type.Path() + ": a page is larger than " + Size(options_.max_page_bytes));
    return PageOutcome::kFailed;
  }
  if (response.status == kStatusGone && !continue_token.empty()) {
    RecordFailure("LIST (continue)", response);
    return PageOutcome::kExpired;  // the continue token expired: start the LIST again
  }
  if (response.error || response.status != 200) {
    RecordFailure("LIST", response);
    return PageOutcome::kFailed;
  }
  Result<kube::ListPage> decoded = DecodeListPage(body);
  if (!decoded) {
    RecordError(ErrorKind::kDecode, "LIST " + type.Path() + ": " + decoded.error().message);
    return PageOutcome::kFailed;
  }
  page = std::move(*decoded);
  return PageOutcome::kOk;
}

bool Reflector::List() {
  const ResourceType& type = store_->type();
  for (int attempt = 0; attempt <= kListRestarts && !stop_; ++attempt) {
    std::map<std::string, CalicoObject> objects;
    std::map<std::string, std::string> rejected;
    std::string continue_token;
    std::string resource_version;
    PageOutcome outcome = PageOutcome::kOk;
    do {
      kube::ListPage page;
      outcome = FetchPage(continue_token, page);
      if (outcome != PageOutcome::kOk) {
        break;
      }
      for (const nlohmann::json& item : page.items) {
        const std::string name = ObjectName(item);
        Result<CalicoObject> o = DecodeCalicoObject(type, item);
        if (o) {
          objects.insert_or_assign(name, std::move(*o));
        } else {
          rejected[name.empty() ? "(no name)" : name] = o.error().message;
        }
      }
      resource_version = page.resource_version;
      continue_token = page.continue_token;
    } while (!continue_token.empty() && !stop_);
    if (outcome == PageOutcome::kExpired) {
      continue;
    }
    if (outcome == PageOutcome::kFailed || stop_) {
      return false;
    }
    for (const auto& [name, message] : rejected) {
      RecordInvalid(name, message);
    }
    const std::size_t count = objects.size();
    store_->Replace(std::move(objects), std::move(rejected), NowUnix());
    resource_version_ = resource_version;
    RecordRecovery("LIST");
    logging::Info("listed", {{"resource", type.Name()},
                             {"objects", std::to_string(count)},
                             {"resource_version", resource_version_}});
    env_.changed();
    return true;
  }
  return false;
}

WatchEnd Reflector::Watch() {
  const ResourceType& type = store_->type();
  const double jitter = std::clamp(env_.random01(), 0.0, 1.0);
  const int timeout_seconds =
      static_cast<int>(std::lround(options_.watch_timeout.count() * (1.0 + jitter)));
  LineSplitter lines(options_.max_event_bytes);
  end_.reset();
  HttpRequest request;
  request.response_timeout = options_.request_timeout;
  request.total_timeout = std::chrono::seconds(timeout_seconds) + options_.request_timeout;
  request.on_response = [&](int status) {
    if (status == 200) {
      store_->SetWatching(true);
      store_->Touch(NowUnix());
      backoff_.Reset();
      RecordRecovery("WATCH");
    }
  };
  request.on_body = [&](std::string_view chunk) {
    return lines.Feed(chunk, [this](std::string_view line) { return OnWatchLine(line); });
  };
  HttpResponse response;
  store_->CountRequest(/*watch=*/true);
  const bool sent = Get(type.Path() + "?" + WatchQuery(resource_version_, timeout_seconds, true),
                        request, response);
  store_->SetWatching(false);
  return sent ? WatchEndOf(response, lines) : WatchEnd::kError;
}

WatchEnd Reflector::WatchEndOf(const HttpResponse& response, const LineSplitter& lines) {
  const ResourceType& type = store_->type();
  if (lines.too_long()) {
    RecordError(ErrorKind::kTooLarge, "WATCH " + type.Path() + ": an event is larger than " +
                                          Size(options_.max_event_bytes));
    return WatchEnd::kError;
  }
  if (end_) {
    return *end_;  // an event ended it (ERROR, or one that could not be read)
  }
  if (stop_) {
    return WatchEnd::kTimeout;
  }
  if (response.status == kStatusGone) {
    RecordFailure("WATCH", response);
    return WatchEnd::kExpired;
  }
  if (response.error && response.status == 200) {
    RecordError(*response.error,
                "WATCH " + type.Path() + ": " + response.message +
                    (lines.pending() > 0 ? " (an unfinished event discarded)" : ""));
    return WatchEnd::kDropped;
  }
  if (response.error || response.status != 200) {
    RecordFailure("WATCH", response);
    return WatchEnd::kError;
  }
  if (lines.pending() > 0) {
    RecordError(ErrorKind::kDropped,
                "WATCH " + type.Path() + ": the stream ended inside an event (discarded)");
    return WatchEnd::kDropped;
  }
  return WatchEnd::kTimeout;
}

bool Reflector::OnWatchLine(std::string_view line) {
  const ResourceType& type = store_->type();
  Result<WatchEvent> event = DecodeWatchEvent(line);
  if (!event) {
    RecordError(ErrorKind::kDecode, "WATCH " + type.Path() + ": " + event.error().message);
    end_ = WatchEnd::kError;
    return false;
  }
  const double now = NowUnix();
  bool changed = false;
  switch (event->type) {
    case EventType::kError: {
      const Status& s = event->status;
      RecordError(KindOfStatus(s.code), "WATCH " + type.Path() + ": ERROR event " +
                                            std::to_string(s.code) + " " + s.reason + ": " +
                                            s.message);
      end_ = s.code == kStatusGone ? WatchEnd::kExpired : WatchEnd::kError;
      return false;
    }
    case EventType::kBookmark:
      store_->Touch(now);
      break;
    case EventType::kDeleted:
      changed = store_->Remove(ObjectName(event->object), now);
      break;
    case EventType::kAdded:
    case EventType::kModified: {
      const std::string name = ObjectName(event->object);
      Result<CalicoObject> o = DecodeCalicoObject(type, event->object);
      if (o) {
        changed = store_->Upsert(name, std::move(*o), now);
      } else {
        changed = store_->Reject(name.empty() ? "(no name)" : name, o.error().message, now);
        if (changed) {
          RecordInvalid(name, o.error().message);
        }
      }
      break;
    }
  }
  resource_version_ = event->resource_version;
  store_->CountEvent();
  if (changed) {
    env_.changed();
  }
  return !stop_;
}

}  // namespace cbe::kube
