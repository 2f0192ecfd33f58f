// The rules every /api request passes before its route runs, in this order:
// 1. outside /api: 404 (the console's pages are served elsewhere);
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
#include "http_api/router.hpp"
#include "http_api/sessions.hpp"

namespace cppbx::http_api {

class Dispatcher {
 public:
  Dispatcher(const Router& router, SessionStore& sessions) : router_(router), sessions_(sessions) {}
  void dispatch(Request request, Responder respond) const;

 private:
  const Router& router_;
  SessionStore& sessions_;
};

}  // namespace cppbx::http_api
