// Sends what a plain TCP socket takes right now, without an asynchronous operation.
//
// Why: an answer of a few KB almost always fits the socket's send buffer, and Asio's
// async_write of it, though its first send succeeds at once, still completes through the
// scheduler's queue (a composed operation, a posted completion, the coroutine resumed from
// the queue): about a thousand instructions per write, two writes per proxied request. A send
// with MSG_DONTWAIT does the same system call; only what it could not take (a large answer, a
// slow reader) is left to async_write.
#pragma once

#include <cstddef>
#include <span>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace bc::net {

// Sends from `pieces` what the socket takes without waiting; returns how many bytes. `ec` is
// set only for a failure (a reset or closed connection), not when the socket is full.
std::size_t send_now(boost::asio::ip::tcp::socket& socket,
                     std::span<const boost::asio::const_buffer> pieces,
                     boost::system::error_code& ec);

// Drops the first `sent` bytes of `pieces` in place; returns the pieces left (a suffix of
// `pieces`, its first one shortened).
std::span<boost::asio::const_buffer> drop_sent(std::span<boost::asio::const_buffer> pieces,
                                               std::size_t sent);

}  // namespace bc::net
