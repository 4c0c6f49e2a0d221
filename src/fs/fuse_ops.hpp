// The FUSE low-level operation table (fuse_ops.cpp); its userdata is the FsService. Also the INIT negotiation on its
// own, so that bench/fuse_meta_ceiling asks the kernel for exactly what the mount asks.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>

namespace tiercel::fs {

const fuse_lowlevel_ops& fuse_operations();

// How long the kernel may cache entries, negative entries and attributes (docs/design.md, "Kernel caching"): every
// change goes through this one mount.
inline constexpr double kAttrTimeout = 86400.0;

// The options every mount starts with (FsService adds fsname, subtype and the user's -o options).
inline constexpr const char* kBaseMountOptions = "default_permissions,allow_other";

// Sets what the mount wants of the connection in INIT's answer: capabilities, request sizes, background limits.
void negotiate_connection(fuse_conn_info* conn);

}  // namespace tiercel::fs
