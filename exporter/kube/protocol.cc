#include "exporter/kube/protocol.h"

namespace cbe::kube {
namespace {

using Json = nlohmann::json;

// Drops `status` of the objects at `object_depth` and every `managedFields` while parsing.
Json::parser_callback_t SkipUnread(int object_depth) {
  return [object_depth](int depth, Json::parse_event_t event, Json& parsed) {
    if (event != Json::parse_event_t::key || !parsed.is_string()) {
      return true;
    }
    const std::string& key = parsed.get_ref<const std::string&>();
    if (key == "managedFields" && depth == object_depth + 1) {
      return false;
    }
    return !(key == "status" && depth == object_depth);
  };
}

Result<Json> Parse(std::string_view text, int object_depth, const char* what) {
  Json j = Json::parse(text.begin(), text.end(), SkipUnread(object_depth), false);
  if (j.is_discarded()) {
    return Error{std::string(what) + " is not JSON"};
  }
  if (!j.is_object()) {
    return Error{std::string(what) + " is not a JSON object"};
  }
  return j;
}

std::string StringAt(const Json& j, const char* a, const char* b = nullptr) {
  const Json* p = &j;
  for (const char* key : {a, b}) {
    if (key == nullptr) {
      break;
    }
    if (!p->is_object()) {
      return "";
    }
    const auto it = p->find(key);
    if (it == p->end()) {
      return "";
    }
    p = &*it;
  }
  return p->is_string() ? p->get<std::string>() : "";
}

std::string DefaultMessage(int http_status) {
  switch (http_status) {
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 410:
      return "Gone";
    case 429:
      return "Too Many Requests";
    default:
      return "HTTP status " + std::to_string(http_status);
  }
}

Status StatusFromJson(const Json& j, int fallback_code) {
  Status s;
  const auto code = j.find("code");
  s.code = code != j.end() && code->is_number_integer() ? code->get<int>() : fallback_code;
  s.reason = StringAt(j, "reason");
  s.message = StringAt(j, "message");
  return s;
}

}  // namespace

std::string ResourceType::Path() const {
  return (api_version.find('/') == std::string::npos ? "/api/" : "/apis/") + api_version + "/" +
         plural;
}

Status DecodeStatus(std::string_view body, int http_status) {
  const Json j = Json::parse(body.begin(), body.end(), nullptr, false);
  if (!j.is_discarded() && j.is_object() && StringAt(j, "kind") == "Status") {
    Status s = StatusFromJson(j, http_status);
    if (s.message.empty()) {
      s.message = DefaultMessage(http_status);
    }
    return s;
  }
  return Status{http_status, "", DefaultMessage(http_status)};
}

Result<ListPage> DecodeListPage(std::string_view body) {
  Result<Json> j = Parse(body, 3, "LIST answer");
  if (!j) {
    return j.error();
  }
  ListPage page;
  const auto items = j->find("items");
  if (items == j->end() || !(items->is_array() || items->is_null())) {
    return Error{"LIST answer has no items list"};
  }
  if (items->is_array()) {
    page.items.reserve(items->size());
    for (Json& item : *items) {
      page.items.push_back(std::move(item));
    }
  }
  page.resource_version = StringAt(*j, "metadata", "resourceVersion");
  page.continue_token = StringAt(*j, "metadata", "continue");
  if (page.resource_version.empty()) {
    return Error{"LIST answer has no metadata.resourceVersion"};
  }
  return page;
}

std::string_view EventTypeName(EventType t) {
  switch (t) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
    case EventType::kBookmark:
      return "BOOKMARK";
    case EventType::kError:
      return "ERROR";
  }
  return "?";
}

Result<WatchEvent> DecodeWatchEvent(std::string_view line) {
  Result<Json> j = Parse(line, 2, "watch event");
  if (!j) {
    return j.error();
  }
  const std::string type = StringAt(*j, "type");
  const auto object = j->find("object");
  if (object == j->end() || !object->is_object()) {
    return Error{"watch event " + (type.empty() ? std::string("without type") : type) +
                 " has no object"};
  }
  WatchEvent e;
  static constexpr EventType kTypes[] = {EventType::kAdded, EventType::kModified,
                                         EventType::kDeleted, EventType::kBookmark,
                                         EventType::kError};
  bool known = false;
  for (EventType t : kTypes) {
    if (type == EventTypeName(t)) {
      e.type = t;
      known = true;
    }
  }
  if (!known) {
    return Error{"watch event of unknown type \"" + type + "\""};
  }
  if (e.type == EventType::kError) {
    e.status = StatusFromJson(*object, 500);
    return e;
  }
  e.resource_version = StringAt(*object, "metadata", "resourceVersion");
  if (e.resource_version.empty()) {
    return Error{"watch event " + type + " has no object.metadata.resourceVersion"};
  }
  e.object = std::move(*object);
  return e;
}

Result<std::set<std::string>> DecodeGroupVersions(std::string_view body) {
  Result<Json> j = Parse(body, 100, "APIGroupList");
  if (!j) {
    return j.error();
  }
  std::set<std::string> out;
  const auto groups = j->find("groups");
  if (groups == j->end() || !groups->is_array()) {
    return Error{"APIGroupList has no groups"};
  }
  for (const Json& g : *groups) {
    const auto versions = g.is_object() ? g.find("versions") : g.end();
    if (!g.is_object() || versions == g.end() || !versions->is_array()) {
      continue;
    }
    for (const Json& v : *versions) {
      if (std::string gv = v.is_object() ? StringAt(v, "groupVersion") : ""; !gv.empty()) {
        out.insert(gv);
      }
    }
  }
  return out;
}

Result<std::set<std::string>> DecodeResourceNames(std::string_view body) {
  Result<Json> j = Parse(body, 100, "APIResourceList");
  if (!j) {
    return j.error();
  }
  std::set<std::string> out;
  const auto resources = j->find("resources");
  if (resources == j->end() || !resources->is_array()) {
    return Error{"APIResourceList has no resources"};
  }
  for (const Json& r : *resources) {
    if (std::string name = r.is_object() ? StringAt(r, "name") : "";
        !name.empty() && name.find('/') == std::string::npos) {
      out.insert(name);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string ListQuery(std::size_t limit, std::string_view continue_token) {
  std::string q;
  if (limit > 0) {
    q = "limit=" + std::to_string(limit);
  }
  if (!continue_token.empty()) {
    q += (q.empty() ? "" : "&") + std::string("continue=") + PercentEncode(continue_token);
  }
  return q;
}

std::string WatchQuery(std::string_view resource_version, int timeout_seconds, bool bookmarks) {
  std::string q = "watch=1&resourceVersion=" + PercentEncode(resource_version);
  if (bookmarks) {
    q += "&allowWatchBookmarks=true";
  }
  if (timeout_seconds > 0) {
    q += "&timeoutSeconds=" + std::to_string(timeout_seconds);
  }
  return q;
}

}  // namespace cbe::kube
