# Cross-compiling for aarch64 with Debian's gcc-aarch64-linux-gnu; tests run
# under qemu-user.  Libraries (OpenSSL, liburing) come from Debian's arm64
# multiarch packages (scripts/deps.sh ci installs libssl-dev:arm64 and
# liburing-dev:arm64 into /usr/lib/aarch64-linux-gnu).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Multiarch headers after the cross compiler's own (glibc stays its own).
set(CMAKE_C_FLAGS_INIT "-idirafter /usr/include/aarch64-linux-gnu -idirafter /usr/include")
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} /)
# Run with the arm64 multiarch C library those packages bring (mixing it
# with the cross toolchain's copy under -L /usr/aarch64-linux-gnu hangs fork).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
