#include "vm/host_resources.h"

#include "base/settings.h"
#include "config/config.h"

namespace provium::vm {

HostResources HostResources::of_this_user() {
  return {pool::default_pool_dir(), pool::Budget::of(config::current().pool, *base::settings()),
          &transport::CidAllocator::machine_wide()};
}

}  // namespace provium::vm
