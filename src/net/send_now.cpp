#include "net/send_now.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>

namespace bc::net {

std::size_t send_now(boost::asio::ip::tcp::socket& socket,
                     std::span<const boost::asio::const_buffer> pieces,
                     boost::system::error_code& ec) {
  ec = {};
  constexpr std::size_t kMaxPieces = 16;
  std::array<iovec, kMaxPieces> iov{};
  std::size_t count = 0;
  for (const auto& p : pieces) {
    if (p.size() == 0) continue;
    if (count == kMaxPieces) break;  // the rest goes with the asynchronous write
    iov[count].iov_base = const_cast<void*>(p.data());
    iov[count].iov_len = p.size();
    ++count;
  }
  if (count == 0) return 0;
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  for (;;) {
    const ssize_t n = ::sendmsg(socket.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec.assign(errno, boost::system::system_category());
    }
    return 0;
  }
}

std::span<boost::asio::const_buffer> drop_sent(std::span<boost::asio::const_buffer> pieces,
                                               std::size_t sent) {
  std::size_t first = 0;
  while (first < pieces.size() && sent >= pieces[first].size()) {
    sent -= pieces[first].size();
    ++first;
  }
  if (first < pieces.size()) pieces[first] += sent;
  return pieces.subspan(first);
}

}  // namespace bc::net
