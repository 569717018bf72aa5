# Finds c-ares (Debian's libc-ares-dev ships a pkg-config file but no CMake package) and provides
# the imported target c-ares::cares, as c-ares' own CMake package would.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_CARES QUIET libcares)
endif()
find_path(c-ares_INCLUDE_DIR ares.h HINTS ${PC_CARES_INCLUDE_DIRS})
find_library(c-ares_LIBRARY NAMES cares HINTS ${PC_CARES_LIBRARY_DIRS})
set(c-ares_VERSION ${PC_CARES_VERSION})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(c-ares
  REQUIRED_VARS c-ares_LIBRARY c-ares_INCLUDE_DIR
  VERSION_VAR c-ares_VERSION)
if(c-ares_FOUND AND NOT TARGET c-ares::cares)
  add_library(c-ares::cares UNKNOWN IMPORTED)
  set_target_properties(c-ares::cares PROPERTIES
    IMPORTED_LOCATION "${c-ares_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${c-ares_INCLUDE_DIR}")
endif()
mark_as_advanced(c-ares_INCLUDE_DIR c-ares_LIBRARY)
