# FindDarknet.cmake: locate Debian's libdarknet, which ships without a
# pkg-config file or a CMake package config.
#
# Provides the imported target Darknet::Darknet and the variables
# Darknet_FOUND, Darknet_INCLUDE_DIR, Darknet_LIBRARY, Darknet_VERSION
# (the Debian package version, read from dpkg when available).

find_path(Darknet_INCLUDE_DIR darknet.h
  HINTS /usr/lib/darknet/include /usr/include/darknet /usr/local/include)
find_library(Darknet_LIBRARY darknet
  HINTS /usr/lib/darknet /usr/local/lib)

set(Darknet_VERSION "unknown")
find_program(DPKG_QUERY dpkg-query)
if(DPKG_QUERY)
  execute_process(COMMAND ${DPKG_QUERY} -W "-f=\${Version}" darknet
    OUTPUT_VARIABLE _dn_ver RESULT_VARIABLE _dn_rc ERROR_QUIET
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_dn_rc EQUAL 0 AND _dn_ver)
    set(Darknet_VERSION "${_dn_ver}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Darknet
  REQUIRED_VARS Darknet_LIBRARY Darknet_INCLUDE_DIR
  VERSION_VAR Darknet_VERSION)

if(Darknet_FOUND AND NOT TARGET Darknet::Darknet)
  add_library(Darknet::Darknet SHARED IMPORTED)
  get_filename_component(_dn_dir "${Darknet_LIBRARY}" DIRECTORY)
  set_target_properties(Darknet::Darknet PROPERTIES
    IMPORTED_LOCATION "${Darknet_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Darknet_INCLUDE_DIR}")
  # libdarknet.so lives outside the loader's default path.
  set(Darknet_RPATH "${_dn_dir}")
endif()
mark_as_advanced(Darknet_INCLUDE_DIR Darknet_LIBRARY)
