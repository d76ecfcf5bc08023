# cmake/install.cmake — what `cmake --install <build> [--prefix P]` puts
# where (GNU directories), for embedders (issue 8, docs/api.md):
#
#   bin/accord                          the CLI, once a target `accord` exists
#   lib/libaccord.so.X.Y.Z, .so.X, .so  the shared library (SONAME .so.X,
#                                       X = ACCORD_SOVERSION, the ABI version)
#   lib/libaccord.a                     the static library
#   include/accord.h                    the one public header
#   lib/pkgconfig/accord.pc             pkg-config (Requires.private: the
#                                       static library's dependencies)
#   lib/cmake/accord/                   the CMake package: find_package(accord)
#                                       gives accord::accord (shared) and
#                                       accord::accord_static
#
# Included at the end of the top-level CMakeLists.txt, after every
# add_subdirectory, so that if(TARGET accord) sees the CLI.
include(CMakePackageConfigHelpers)

set(ACCORD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/accord)

if(TARGET accord)
  install(TARGETS accord RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(TARGETS accord_shared accord_static EXPORT accordTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/accord.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# ---- CMake package -----------------------------------------------------------
# The targets file locates everything relative to itself, so the package is
# relocatable: it works under whatever --prefix the install used.
install(EXPORT accordTargets NAMESPACE accord::
  FILE accordTargets.cmake DESTINATION ${ACCORD_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/accordConfig.cmake.in
  ${PROJECT_BINARY_DIR}/accordConfig.cmake
  INSTALL_DESTINATION ${ACCORD_CMAKE_DIR})
# Before 1.0 a minor release may break the API (semantic versioning), so a
# request for 0.1 accepts 0.1.x only; from 1.0 on, the same major version.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(accord_compat SameMinorVersion)
else()
  set(accord_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/accordConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${accord_compat})
install(FILES ${PROJECT_BINARY_DIR}/accordConfig.cmake
  ${PROJECT_BINARY_DIR}/accordConfigVersion.cmake
  DESTINATION ${ACCORD_CMAKE_DIR})

# ---- pkg-config --------------------------------------------------------------
# accord.pc names absolute directories, like every .pc file Debian ships, so
# it is written at install time: the prefix is then the one installed to
# (cmake --install --prefix P), not the one configured. configure_file runs
# in the install script; the file lands in the build tree, then is installed
# like any other (DESTDIR and the install manifest included).
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(accord_pc_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(accord_pc_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
install(CODE "
  set(ACCORD_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(ACCORD_PC_LIBDIR [[${accord_pc_LIBDIR}]])
  set(ACCORD_PC_INCLUDEDIR [[${accord_pc_INCLUDEDIR}]])
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file([[${CMAKE_CURRENT_LIST_DIR}/accord.pc.in]]
    [[${PROJECT_BINARY_DIR}/pkgconfig/accord.pc]] @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/accord.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
