#include "exporter/kube/stats.h"

namespace cbe::kube {

std::string_view ErrorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTls:
      return "tls";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kDropped:
      return "dropped";
    case ErrorKind::kUnauthorized:
      return "unauthorized";
    case ErrorKind::kForbidden:
      return "forbidden";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kExpired:
      return "expired";
    case ErrorKind::kThrottled:
      return "throttled";
    case ErrorKind::kServerError:
      return "server_error";
    case ErrorKind::kHttp:
      return "http";
    case ErrorKind::kDecode:
      return "decode";
    case ErrorKind::kInvalidObject:
      return "invalid_object";
    case ErrorKind::kTooLarge:
      return "too_large";
  }
  return "?";
}

std::string_view WatchEndName(WatchEnd e) {
  switch (e) {
    case WatchEnd::kTimeout:
      return "timeout";
    case WatchEnd::kExpired:
      return "expired";
    case WatchEnd::kDropped:
      return "dropped";
    case WatchEnd::kError:
      return "error";
  }
  return "?";
}

}  // namespace cbe::kube
