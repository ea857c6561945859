#pragma once

// The answers of `calico-bgp-exporter intent serve`, from civetweb's begin_request callback:
//   GET /v1/nodes/NAME/sessions  {"node": NAME, "sessions": [...]} with an ETag; 304 when
//                                If-None-Match matches; 503 until the first full sync; 404 for
//                                a node Calico does not know
//   GET /v1/findings             the cluster's config problems (JSON)
//   GET <telemetry path>         the exposition
//   GET /healthz, GET /          health and a landing page
// Every path needs the web config's credentials (401 first). What to answer comes from an
// IntentBackend; this file only speaks HTTP.

#include <atomic>
#include <string>
#include <string_view>

#include "exporter/web/web_pages.h"

namespace cbe {

struct PageReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string etag;  // a quoted entity tag, or "" for none
};

class IntentBackend {
 public:
  virtual ~IntentBackend() = default;
  virtual PageReply NodeSessions(std::string_view node) const = 0;
  virtual PageReply Findings() const = 0;
  virtual std::string Exposition() const = 0;
  virtual PageReply Health() const = 0;
  // A few lines of plain text about the sync state, for the landing page.
  virtual std::string Summary() const = 0;
};

class IntentPages : public WebPages {
 public:
  // `backend` must outlive the pages.
  IntentPages(std::string telemetry_path, const IntentBackend* backend);

  const CivetCallbacks* Callbacks() override;
  void SetAccess(const PageAccess* access) override { access_ = access; }

 private:
  static int BeginRequest(mg_connection* conn);
  int Serve(mg_connection* conn, std::string_view uri, std::string_view method) const;
  int ServeSessions(mg_connection* conn, std::string_view node, bool head,
                    const std::string& extra) const;

  std::string telemetry_path_;
  const IntentBackend* backend_;
  std::atomic<const PageAccess*> access_{nullptr};
  CivetCallbacks callbacks_{};
};

// "/v1/nodes/NAME/sessions" -> NAME; "" when `uri` is not such a path.
std::string_view SessionsPathNode(std::string_view uri);

}  // namespace cbe
