// The entry point through which an HTTP server hands a WebSocket upgrade for
// SIP over to the transport (RFC 7118): the HTTP listener of issue 6 serves
// its own `ws_handler` path this way, next to the transport's ws_port
// listener, which uses the same code after routing the path itself.
//
// Contract:
// - The server has read the request (a GET at its ws_handler path) from
//   `stream` and gives both up; it must not touch the stream afterwards.
// - The transport answers the request itself: 101 Switching Protocols with
//   "Sec-WebSocket-Protocol: sip" when it is a WebSocket upgrade offering the
//   subprotocol "sip", else 400 Bad Request and the connection is closed.
// - After the 101 the connection is a SIP flow like any other: Protocol::Ws
//   for a plain stream, Protocol::Wss for a TLS one, a ConnectionId of the
//   layer, the layer's idle timeout, message size limit and closed handler.
// - The stream's executor must be a strand (a Beast server makes each
//   accepted socket's with make_strand): the flow runs all its work on it.
// - Bytes the server read past the request are not handed over: a
//   WebSocket client sends nothing before it has the 101.
// Thread-safe; callable from any thread once the layer has been started.
#pragma once

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace cppbx::transport {

class WebSocketHandover {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream>;

  virtual ~WebSocketHandover() = default;
  virtual void accept_websocket(boost::beast::tcp_stream stream, Request request) = 0;
  virtual void accept_websocket(TlsStream stream, Request request) = 0;
};

}  // namespace cppbx::transport
