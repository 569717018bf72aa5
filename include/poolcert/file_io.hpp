// Files that must never be half-written: every output goes to a temporary file in the same
// folder, is fsynced, then renamed (or linked, when it must not replace anything) into place.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace poolcert {

// read_input_file reads a whole input file (at most `max_bytes`). Throws IoError (kBadInput)
// when it cannot be read, BadFileError when it is a folder or too large.
std::string read_input_file(const std::filesystem::path& file, std::size_t max_bytes = 16 << 20);

// How write_file_atomic treats an existing file at the destination.
enum class Existing {
  kReplace,  // atomically replace it (rename)
  kKeep,     // never touch it: throw FileExistsError (link, which fails with EEXIST)
};

// FileExistsError: write_file_atomic(kKeep) found the destination already there.
class FileExistsError : public std::runtime_error {
 public:
  explicit FileExistsError(const std::filesystem::path& p)
      : std::runtime_error(p.string() + ": already exists") {}
};

// When write_file_atomic makes the new folder entry durable.
enum class FolderSync {
  kNow,    // fsync the folder before returning
  kLater,  // the caller calls sync_folder before it reports the file written (a batch syncs
           // its folder once, not once per file)
};

// write_file_atomic writes `data` to `path` with permissions `mode` exactly (whatever the
// umask): temp file beside it (created 0600), write, fchmod, fsync, rename or link, and (kNow)
// fsync the folder. The file's data is on disk before its name points at it, whatever
// `folder_sync` says. On any failure the temp file is removed and the destination is as it was.
// Throws IoError (kOperation) or FileExistsError.
void write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode,
                       Existing existing, FolderSync folder_sync = FolderSync::kNow);

// sync_folder fsyncs the folder `dir`, making the renames and links done in it durable. Throws
// IoError (kOperation).
void sync_folder(const std::filesystem::path& dir);

// move_aside renames `path` to a name that does not exist yet (`path` + suffix, then
// `path` + suffix + ".1", ...) without replacing anything, and returns the new name. Throws
// IoError (kOperation).
std::filesystem::path move_aside(const std::filesystem::path& path, const std::string& suffix);

// remove_file removes `path` if it is there and fsyncs its folder. Throws IoError (kOperation).
void remove_file(const std::filesystem::path& path);

// prepare_output_dir makes `dir` (and parents; new folders 0700, since they will hold keys) and
// proves it can be written by creating and removing a temporary file there. Throws IoError
// (kBadInput): nothing has been written yet when the folder is unusable.
void prepare_output_dir(const std::filesystem::path& dir);

// remove_stale_temps removes temporary files an earlier, killed poolcert run left in `dir`
// (those whose process is gone). Returns how many it removed. Never throws.
int remove_stale_temps(const std::filesystem::path& dir);

// is_temp_name tells whether a file name is one of poolcert's temporary files.
bool is_temp_name(std::string_view filename);

// utc_timestamp is the current UTC time as 20261125T101500Z, for backup names.
std::string utc_timestamp();

}  // namespace poolcert
