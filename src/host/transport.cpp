#include "host/transport.h"

#include <fmt/format.h>

#include "transport/selection.h"

namespace provium::host {

transport::Kind effective_transport(const config::Profile& profile) {
  if (auto forced = transport::transport_override()) return transport::choose_transport(*forced);
  auto origin = profile.origin.find("transport");
  return transport::choose_transport(
      {profile.transport, origin == profile.origin.end()
                              ? profile.describe()
                              : fmt::format("{}: {}", origin->second, profile.describe())});
}

}  // namespace provium::host
