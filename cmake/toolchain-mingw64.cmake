# SPDX-License-Identifier: MIT
# Cross-build for 64-bit Windows with Debian's mingw-w64 (gcc-mingw-w64-x86-64); tests run
# under wine through CMAKE_CROSSCOMPILING_EMULATOR. Used by ci/cross-deps.sh and ci/build-windows.sh.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(AZCNI_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${AZCNI_MINGW_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${AZCNI_MINGW_TRIPLET}-g++)
set(CMAKE_RC_COMPILER ${AZCNI_MINGW_TRIPLET}-windres)
set(CMAKE_AR ${AZCNI_MINGW_TRIPLET}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${AZCNI_MINGW_TRIPLET}-ranlib CACHE FILEPATH "")

# Headers and libraries from the mingw sysroot (and the deps prefix, passed as
# CMAKE_PREFIX_PATH / AZCNI_DEPS_PREFIX); programs from the build host.
set(CMAKE_FIND_ROOT_PATH /usr/${AZCNI_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs the cross-built tests under wine (WINEPREFIX/WINEDEBUG come from the caller).
find_program(AZCNI_WINE wine)
if(AZCNI_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${AZCNI_WINE})
endif()
