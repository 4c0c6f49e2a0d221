// The FUSE low-level operation table (fuse_ops.cpp); its userdata is the FsService.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>

namespace tiercel::fs {

const fuse_lowlevel_ops& fuse_operations();

}  // namespace tiercel::fs
