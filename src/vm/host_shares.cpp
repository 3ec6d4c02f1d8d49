#include "vm/host_shares.h"

#include "base/settings.h"
#include "config/config.h"

namespace provium::vm {

HostShares HostShares::of_this_user() {
  return {pool::default_pool_dir(), pool::Budget::of(config::current().pool, *base::settings()),
          &transport::CidAllocator::machine_wide()};
}

}  // namespace provium::vm
