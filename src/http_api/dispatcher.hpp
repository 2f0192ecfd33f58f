// The rules every /api request passes before its route runs, in this order:
// 1. outside /api: the console's pages for "/" and [console] base_path
//    (console_site.hpp, public), else 404;
// 2. every route but the public ones (login) needs a valid session cookie,
//    else 401 -- also for paths that match no route, so the route table is
//    not visible to strangers;
// 3. no route: 404, or 405 with Allow when only the method is wrong;
// 4. POST/PUT/PATCH/DELETE need X-CSRF-Token equal to the session's token,
//    else 403;
// 5. a body on those methods must be declared application/json, else 415
//    (an HTML form cannot send that without a CORS preflight).
// A handler that throws answers 500 without the exception's text; the
// responder is made one-shot so a late second answer is dropped.
#pragma once

#include "http_api/api_message.hpp"
#include "http_api/console_site.hpp"
#include "http_api/router.hpp"
#include "http_api/sessions.hpp"

namespace cppbx::http_api {

class Dispatcher {
 public:
  Dispatcher(const Router& router, SessionStore& sessions, std::string console_base_path = "/console")
      : router_(router), sessions_(sessions), console_(std::move(console_base_path)) {}
  void dispatch(Request request, Responder respond) const;

 private:
  const Router& router_;
  SessionStore& sessions_;
  ConsoleSite console_;
};

}  // namespace cppbx::http_api
