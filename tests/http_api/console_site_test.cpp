// The console's static files: redirects to base_path/, index.html there,
// Content-Type by extension, ETag revalidation (304), no-cache, the security
// headers on every answer, 404 for unknown files and paths outside the
// console, and that the embedded console is complete (every file index.html
// and the modules reference is embedded). Also the dispatcher's hook: the
// pages are public while /api still needs a session.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "http_api/console_site.hpp"
#include "http_api/dispatcher.hpp"

namespace cppbx::http_api {
namespace {

const std::vector<ConsoleAsset>& fake_assets() {
  static const std::vector<ConsoleAsset> assets = {
      {"index.html", "<!doctype html><title>x</title>", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
      {"js/app.js", "export const x = 1;", "cccccccccccccccccccccccccccccccc00000000000000000000000000000000"},
      {"app.css", "body{}", "dddddddddddddddddddddddddddddddd11111111111111111111111111111111"},
  };
  return assets;
}

Request get(std::string path) {
  Request request;
  request.method = "GET";
  request.path = std::move(path);
  return request;
}

void expect_security_headers(const Response& response) {
  EXPECT_EQ(response.header("Content-Security-Policy"), kConsoleContentSecurityPolicy);
  EXPECT_NE(response.header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(response.header("Referrer-Policy"), "same-origin");
}

TEST(ConsoleSite, HandlesRootBaseAndBelowOnly) {
  ConsoleSite site("/admin/ui", fake_assets());
  EXPECT_TRUE(site.handles("/"));
  EXPECT_TRUE(site.handles("/admin/ui"));
  EXPECT_TRUE(site.handles("/admin/ui/"));
  EXPECT_TRUE(site.handles("/admin/ui/js/app.js"));
  EXPECT_FALSE(site.handles("/admin/uix"));
  EXPECT_FALSE(site.handles("/admin"));
  EXPECT_FALSE(site.handles("/favicon.ico"));
}

TEST(ConsoleSite, RootAndBasePathRedirectToIndex) {
  ConsoleSite site("/console", fake_assets());
  for (const char* path : {"/", "/console"}) {
    Response answer = site.serve(get(path));
    EXPECT_EQ(answer.status, 302) << path;
    EXPECT_EQ(answer.header("Location"), "/console/") << path;
    expect_security_headers(answer);
  }
}

TEST(ConsoleSite, ServesFilesWithTypeEtagAndNoCache) {
  ConsoleSite site("/console", fake_assets());
  Response index = site.serve(get("/console/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>x</title>");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.header("Cache-Control"), "no-cache");
  EXPECT_EQ(index.header("ETag"), "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
  expect_security_headers(index);

  Response script = site.serve(get("/console/js/app.js"));
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.body, "export const x = 1;");
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(site.serve(get("/console/app.css")).content_type, "text/css; charset=utf-8");
}

TEST(ConsoleSite, MatchingIfNoneMatchGives304WithoutBody) {
  ConsoleSite site("/console", fake_assets());
  Request request = get("/console/js/app.js");
  const std::string etag = site.serve(request).header("ETag");
  for (std::string header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    request.headers["if-none-match"] = header;
    Response answer = site.serve(request);
    EXPECT_EQ(answer.status, 304) << header;
    EXPECT_TRUE(answer.body.empty());
    EXPECT_EQ(answer.header("ETag"), etag);
  }
  request.headers["if-none-match"] = "\"stale\"";
  EXPECT_EQ(site.serve(request).status, 200);
}

TEST(ConsoleSite, UnknownFilesTraversalAndOtherMethods) {
  ConsoleSite site("/console", fake_assets());
  for (const char* path : {"/console/missing.js", "/console/../index.html", "/console/js/../app.css",
                           "/console/js/", "/console//index.html"}) {
    Response answer = site.serve(get(path));
    EXPECT_EQ(answer.status, 404) << path;
    expect_security_headers(answer);
  }
  Request post = get("/console/");
  post.method = "POST";
  Response refused = site.serve(post);
  EXPECT_EQ(refused.status, 405);
  EXPECT_EQ(refused.header("Allow"), "GET, HEAD");
  Request head = get("/console/");
  head.method = "HEAD";
  Response headers_only = site.serve(head);
  EXPECT_EQ(headers_only.status, 200);
  EXPECT_TRUE(headers_only.body.empty());
}

TEST(ConsoleSite, ContentTypes) {
  EXPECT_EQ(console_content_type("a/b.SVG"), "image/svg+xml");
  EXPECT_EQ(console_content_type("x.json"), "application/json");
  EXPECT_EQ(console_content_type("noextension"), "application/octet-stream");
  EXPECT_EQ(console_content_type("dir.v1/file"), "application/octet-stream");
}

// The real, embedded console: index.html exists, and every relative
// href/src of index.html and every module import resolves to an embedded
// file (a missing file would be a blank page in the browser).
TEST(ConsoleSite, EmbeddedConsoleIsComplete) {
  const auto& assets = console_assets();
  std::set<std::string> paths;
  for (const auto& asset : assets) {
    paths.emplace(asset.path);
    EXPECT_EQ(asset.sha256.size(), 64u) << asset.path;
  }
  ASSERT_TRUE(paths.count("index.html"));
  ConsoleSite site("/console");
  Response index = site.serve(get("/console/"));
  ASSERT_EQ(index.status, 200);
  const std::regex reference(R"re((?:href|src)="([^"#:]+)")re");
  int references = 0;
  for (auto it = std::sregex_iterator(index.body.begin(), index.body.end(), reference); it != std::sregex_iterator();
       ++it) {
    ++references;
    EXPECT_TRUE(paths.count((*it)[1].str())) << "index.html references missing " << (*it)[1];
  }
  EXPECT_GE(references, 2);  // the stylesheet and the main module at least
  const std::regex import_from(R"re(from '\./([^']+)')re");
  for (const auto& asset : assets) {
    if (!asset.path.ends_with(".js")) continue;
    std::string text(asset.bytes);
    const std::string folder(asset.path.substr(0, asset.path.rfind('/') + 1));
    for (auto it = std::sregex_iterator(text.begin(), text.end(), import_from); it != std::sregex_iterator(); ++it) {
      EXPECT_TRUE(paths.count(folder + (*it)[1].str())) << asset.path << " imports missing " << (*it)[1];
    }
  }
}

TEST(ConsoleSite, DispatcherServesPagesWithoutSessionButNotTheApi) {
  Router router;
  router.add("GET", "/api/session", [](const Request&, Responder respond) { respond(Response::json(200, {})); });
  SessionStore sessions;
  Dispatcher dispatcher(router, sessions, "/ui");
  auto dispatch = [&](std::string path) {
    Response answer;
    dispatcher.dispatch(get(std::move(path)), [&](Response r) { answer = std::move(r); });
    return answer;
  };
  EXPECT_EQ(dispatch("/ui/").status, 200);
  EXPECT_EQ(dispatch("/ui/").content_type, "text/html; charset=utf-8");
  EXPECT_EQ(dispatch("/").header("Location"), "/ui/");
  EXPECT_EQ(dispatch("/console/").status, 404);  // not the configured base_path
  EXPECT_EQ(dispatch("/api/session").status, 401);
}

}  // namespace
}  // namespace cppbx::http_api
