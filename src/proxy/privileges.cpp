#include "proxy/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::proxy {

bool drop_privileges(const std::string& user, std::string& error) {
  errno = 0;
  passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    error = "unknown user '" + user + "'";
    return false;
  }
  if (::initgroups(pw->pw_name, pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 ||
      ::setuid(pw->pw_uid) != 0) {
    error = "cannot switch to user '" + user + "': " + std::strerror(errno);
    return false;
  }
  if (pw->pw_uid != 0 && ::setuid(0) == 0) {
    error = "privileges could be regained after dropping them";
    return false;
  }
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  return true;
}

}  // namespace ferry::proxy
