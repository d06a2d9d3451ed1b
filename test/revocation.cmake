# revocation/: unit tests against a real `openssl ocsp` responder and a loopback HTTP server.
#
# The revocation test PKI is made on top of the test PKI (fixture `pki`) by make-revocation-pki.sh
# (fixture `revocation_pki`). Its certificates name fixed ports, so every test that serves them holds the
# resource lock `revocation_ports`: 28480 (HTTP: CRLs, misbehaving servers), 28481 (OCSP).
# Each test case starts the servers it needs itself (fork/exec) and stops them when it ends.
set(SMIME_TEST_REVOCATION_PKI ${CMAKE_BINARY_DIR}/test-pki-revocation)
add_test(NAME revocation_pki.make
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/revocation/make-revocation-pki.sh ${SMIME_TEST_PKI}
                 ${SMIME_TEST_REVOCATION_PKI})
set_tests_properties(revocation_pki.make PROPERTIES FIXTURES_SETUP revocation_pki FIXTURES_REQUIRED pki
                     LABELS unit)

# The loopback HTTP server of the revocation tests (also for shell end-to-end tests): see its header.
find_package(Threads REQUIRED)
find_package(CURL REQUIRED)  # the tests include revocation/src headers, which include curl.h
add_executable(revocation-test-server revocation/test_http_server.cpp)
target_link_libraries(revocation-test-server PRIVATE Threads::Threads)
smime_project_target(revocation-test-server)

find_program(SMIME_OPENSSL_EXECUTABLE openssl REQUIRED)
add_executable(test_revocation
  unit/revocation/revocation_support.cpp
  unit/revocation/test_ocsp.cpp
  unit/revocation/test_crl.cpp
  unit/revocation/test_checker.cpp
  unit/revocation/test_cache.cpp
  unit/revocation/test_internals.cpp
  unit/revocation/test_local.cpp
)
target_link_libraries(test_revocation PRIVATE test_main smime::revocation Catch2::Catch2 Threads::Threads CURL::libcurl)
target_compile_definitions(test_revocation PRIVATE
  SMIME_REVOCATION_TEST_SERVER="$<TARGET_FILE:revocation-test-server>"
  SMIME_OPENSSL_EXECUTABLE="${SMIME_OPENSSL_EXECUTABLE}"
  SMIME_TEST_REVOCATION_PKI_DEFAULT="${SMIME_TEST_REVOCATION_PKI}")
add_dependencies(test_revocation revocation-test-server)
# test_internals.cpp tests internal parts of the library (revocation/src) directly.
target_include_directories(test_revocation PRIVATE ${PROJECT_SOURCE_DIR}/revocation/src)
smime_project_target(test_revocation)
catch_discover_tests(test_revocation
  PROPERTIES LABELS unit FIXTURES_REQUIRED revocation_pki RESOURCE_LOCK revocation_ports TIMEOUT 120
             ENVIRONMENT "SMIME_TEST_PKI=${SMIME_TEST_PKI}")
# catch_discover_tests turns a second list element of a property into a property of its own: hence one
# fixture (revocation_pki requires pki itself) and one variable (the revocation PKI's directory is
# compiled in; SMIME_TEST_REVOCATION_PKI in the environment overrides it).
