# `cmake --install`: the library, the public headers, the ember CLI, a CMake package
# (find_package(ember) -> ember::ember) and a pkg-config file (ember.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Apps that link ember::ember compile its headers as C++20.
target_compile_features(ember PUBLIC cxx_std_20)

set(EMBER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ember)
install(TARGETS ember EXPORT emberTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ember DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ember_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT emberTargets NAMESPACE ember:: DESTINATION ${EMBER_CMAKE_DIR})

# A static libember carries its private link dependencies (zlib, threads, nlohmann_json's
# interface target, CUDA) into the consumer's link, so emberConfig.cmake must find them.
set(EMBER_CONFIG_CUDA ${EMBER_CUDA})
get_target_property(EMBER_LIB_TYPE ember TYPE)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/emberConfig.cmake.in
  ${PROJECT_BINARY_DIR}/emberConfig.cmake INSTALL_DESTINATION ${EMBER_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/emberConfig.cmake ${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
  DESTINATION ${EMBER_CMAKE_DIR})

# pkg-config: with a static library the dependencies go into Libs itself (plain
# `pkg-config --libs ember` must link); -lstdc++ lets C programs link the C API.
if(EMBER_LIB_TYPE STREQUAL "STATIC_LIBRARY")
  set(EMBER_PC_LIBS "-lember -lz -pthread -lstdc++ -lm")
  set(EMBER_PC_LIBS_PRIVATE "")
else()
  set(EMBER_PC_LIBS "-lember")
  set(EMBER_PC_LIBS_PRIVATE "-lz -pthread")
endif()
if(EMBER_CUDA)
  string(APPEND EMBER_PC_LIBS " -lcublasLt -lcublas -lcudart")
endif()
# Relocatable: the prefix is found from the .pc file's own place (cmake --install --prefix).
file(RELATIVE_PATH EMBER_PC_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" EMBER_PC_PREFIX "${EMBER_PC_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/ember.pc.in ${PROJECT_BINARY_DIR}/ember.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ember.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
