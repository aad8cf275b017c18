# FindCMocka.cmake: Debian's libcmocka-dev, found through pkg-config.
# Provides CMocka::CMocka.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
if(NOT TARGET CMocka::CMocka)
  add_library(CMocka::CMocka ALIAS PkgConfig::CMOCKA)
endif()
