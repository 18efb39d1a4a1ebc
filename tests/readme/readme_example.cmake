# README.md's "Using the library" example, compiled and run by ctest so it cannot drift from
# the API (STYLE.md: no doc example that does not compile). At configure time the first ```cpp
# block after that heading becomes readme_example.cpp: its leading #include / using lines stay
# at file scope, the rest becomes the body of main(). <marrow/marrow.h> resolves to the
# in-tree umbrella header through a forwarding header, as it does in an install.
set(readme ${PROJECT_SOURCE_DIR}/README.md)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${readme})
set(readme_dir ${CMAKE_CURRENT_BINARY_DIR}/readme)

file(READ ${readme} text)
string(FIND "${text}" "## Using the library" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md has no \"## Using the library\" section for the example test")
endif()
string(SUBSTRING "${text}" ${at} -1 text)
string(FIND "${text}" "```cpp\n" open)
if(open EQUAL -1)
  message(FATAL_ERROR "README.md: no ```cpp block under \"## Using the library\"")
endif()
math(EXPR open "${open} + 7")
string(SUBSTRING "${text}" ${open} -1 text)
string(FIND "${text}" "\n```" close)
math(EXPR close "${close} + 1")
string(SUBSTRING "${text}" 0 ${close} block)
# The file-scope prefix: #include, using and blank lines (one string, so the code's semicolons
# never meet CMake's list syntax).
string(REGEX MATCH "^((#include|using namespace)[^\n]*\n|[ \t]*\n)*" preamble "${block}")
string(LENGTH "${preamble}" preamble_length)
string(SUBSTRING "${block}" ${preamble_length} -1 body)

file(WRITE ${readme_dir}/readme_example.cpp.in
"// Generated from README.md (\"Using the library\") by tests/readme/readme_example.cmake.
#include <cstdio>
#include <exception>
${preamble}
int main() try {
${body}    std::printf(\"README example ran\\n\");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, \"README example failed: %s\\n\", e.what());
    return 1;
}
")
configure_file(${readme_dir}/readme_example.cpp.in ${readme_dir}/readme_example.cpp COPYONLY)
file(WRITE ${readme_dir}/include/marrow/marrow.h.in
     "#pragma once\n#include \"${PROJECT_SOURCE_DIR}/marrow.h\"\n")
configure_file(${readme_dir}/include/marrow/marrow.h.in ${readme_dir}/include/marrow/marrow.h
               COPYONLY)

add_executable(readme_example ${readme_dir}/readme_example.cpp)
target_include_directories(readme_example PRIVATE ${readme_dir}/include)
target_link_libraries(readme_example PRIVATE marrow::marrow)
marrow_warnings(readme_example)
add_test(NAME readme_example COMMAND readme_example WORKING_DIRECTORY ${readme_dir})
set_tests_properties(readme_example PROPERTIES LABELS unit
                     PASS_REGULAR_EXPRESSION "README example ran")
