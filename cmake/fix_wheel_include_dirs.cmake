# Injected with -DCMAKE_PROJECT_INCLUDE=<this file> by scripts/setup.sh.
#
# The ROS 2 PyPI wheels export *__rosidl_generator_py targets whose
# INTERFACE_INCLUDE_DIRECTORIES name the Python and numpy include folders of
# the machine the wheels were built on (/opt/python/...). CMake refuses
# imported targets with missing include folders, so at the end of the
# project we point them at this interpreter's folders. The venv is untouched.

if(NOT COMMAND _rag_planner_fix_wheel_include_dirs)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
      "import sysconfig, numpy; print(sysconfig.get_paths()['include']); print(numpy.get_include())"
    OUTPUT_VARIABLE _rag_planner_py_dirs
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REPLACE "\n" ";" _rag_planner_py_dirs "${_rag_planner_py_dirs}")
  list(GET _rag_planner_py_dirs 0 RAG_PLANNER_PY_INCLUDE)
  list(GET _rag_planner_py_dirs 1 RAG_PLANNER_NUMPY_INCLUDE)

  function(_rag_planner_fix_wheel_include_dirs)
    get_directory_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" IMPORTED_TARGETS)
    foreach(_target IN LISTS _targets)
      get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
      if(NOT _dirs)
        continue()
      endif()
      set(_fixed "")
      foreach(_dir IN LISTS _dirs)
        if(_dir MATCHES "^/opt/python/.*/numpy/_core/include$")
          list(APPEND _fixed "${RAG_PLANNER_NUMPY_INCLUDE}")
        elseif(_dir MATCHES "^/opt/python/.*/include/python3")
          list(APPEND _fixed "${RAG_PLANNER_PY_INCLUDE}")
        else()
          list(APPEND _fixed "${_dir}")
        endif()
      endforeach()
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_fixed}")
    endforeach()
  endfunction()
endif()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _rag_planner_fix_wheel_include_dirs)
