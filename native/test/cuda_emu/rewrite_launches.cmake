# cmake -DIN=file.cu -DOUT=file.cpp -P rewrite_launches.cmake: a copy of a CUDA source for the emulator, every launch
# `kernel<<<grid, block, smem, stream>>>(args)` rewritten as `emu_launch(kernel, grid, block, smem, stream, args)`.
file(READ "${IN}" text)
string(REGEX REPLACE "([A-Za-z_][A-Za-z_0-9]*)<<<([^\n]*)>>>\\(" "emu_launch(\\1, \\2, " text "${text}")
if(text MATCHES "<<<")
    message(FATAL_ERROR "${IN}: a launch the rewrite does not understand (one launch per line, four arguments)")
endif()
file(WRITE "${OUT}.tmp" "${text}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
