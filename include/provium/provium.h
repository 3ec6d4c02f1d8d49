// Provium: test Linux kernels in QEMU virtual machines driven through a guest agent.
#pragma once

#include <provium/error.h>
#include <provium/fixture.h>
#include <provium/pack.h>
#include <provium/syscall.h>
#include <provium/tap.h>
#include <provium/types.h>
#include <provium/vm.h>
