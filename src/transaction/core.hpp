// State shared by the transaction layer and its transactions. Transactions
// hold a shared_ptr to it, so timers that fire after the layer object is gone
// still find valid tables; the layer's destructor clears the tables, which
// breaks the reference cycle.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "transaction/sharded_map.hpp"
#include "transaction/transaction_layer.hpp"

namespace cppbx::transaction {

class ServerTx;
class ClientTx;

struct Core {
  Core(boost::asio::io_context& io_context, transport::TransportLayer& transport_layer,
       TransactionLayer::Options layer_options)
      : io(io_context), transport(transport_layer), options(std::move(layer_options)) {}

  boost::asio::io_context& io;
  transport::TransportLayer& transport;
  TransactionLayer::Options options;

  // Set before traffic starts, read-only afterwards.
  TransactionLayer::RequestHandler on_request;
  TransactionLayer::StrayHandler on_stray;
  TransactionLayer::CancelHandler on_cancel;

  ShardedMap<std::shared_ptr<ServerTx>> servers;  // by server_key()
  ShardedMap<std::shared_ptr<ServerTx>> merging;  // by merge_key(), requests without To tag
  ShardedMap<std::shared_ptr<ClientTx>> clients;  // by client_key()

  std::atomic<bool> shutting_down{false};
  std::atomic<size_t> awaiting_final{0};  // server transactions without a final response
  std::atomic<size_t> dropped{0};

  // A response this layer sends on its own: To tag, Server header, Via stamp.
  std::string build_own_response(const sip::Message& request, const transport::Peer& source, int code,
                                 std::string_view reason, std::string_view to_tag,
                                 std::span<const sip::HeaderField> extra_headers = {}) const;
  void respond_statelessly(const transport::Inbound& inbound, int code, std::string_view reason = {},
                           std::span<const sip::HeaderField> extra_headers = {});
};
using CorePtr = std::shared_ptr<Core>;

}  // namespace cppbx::transaction
