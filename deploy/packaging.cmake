# Installation and the Debian package (issue 24): `cmake --install build
# --prefix /usr` or `cpack -G DEB` in the build directory
# (docs/operations.md "Without Kubernetes: the .deb and systemd").
#
#   <prefix>/bin/smimegate, smimegatectl
#   /etc/smimegate/smimegate.yaml        the service's configuration (a conffile)
#   <prefix>/lib/systemd/system/smimegate.service
#   <prefix>/share/doc/smimegate/        README.md and docs/*.md
#
# The unit names /usr/bin/smimegate: the package's layout. The package's
# Depends are the run-time list of scripts/setup-deps.sh (--runtime --list),
# which tests/deploy/package_test.sh keeps complete against dpkg-shlibdeps.
include(GNUInstallDirs)

install(TARGETS smimegate smimegatectl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/smimegate.yaml
        DESTINATION /etc/smimegate PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/smimegate.service
        DESTINATION lib/systemd/system)
file(GLOB _sg_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${_sg_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})

execute_process(COMMAND ${PROJECT_SOURCE_DIR}/scripts/setup-deps.sh --runtime --list
                OUTPUT_VARIABLE _sg_runtime RESULT_VARIABLE _sg_runtime_rc)
if(NOT _sg_runtime_rc EQUAL 0)
  message(FATAL_ERROR "scripts/setup-deps.sh --runtime --list failed")
endif()
string(STRIP "${_sg_runtime}" _sg_runtime)
string(REPLACE "\n" ", " _sg_depends "${_sg_runtime}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME smimegate)
set(CPACK_PACKAGE_VENDOR "smimegate")
set(CPACK_PACKAGE_CONTACT "smimegate maintainers <maintainers@smimegate.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "S/MIME email encryption gateway (SMTP relay)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${_sg_depends}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/deploy/systemd/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
