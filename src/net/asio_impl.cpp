// The one translation unit that compiles Asio, Asio's SSL layer and Beast. Everything else
// includes their headers only, which keeps a clean build short on a 2-core machine.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
