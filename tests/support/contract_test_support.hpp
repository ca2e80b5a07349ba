#pragma once
// Contract violations abort (detail/contract.hpp), so a test of one runs the call in a forked
// child: the child's stderr is captured, and the test asserts that it died of SIGABRT with the
// expected message. POSIX only (fork), like the rest of the test suite's runners.
#include <csignal>
#include <cstdlib>
#include <string>
#include <utility>

#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

namespace hinge_test {

struct child_outcome {
    bool aborted = false;  // killed by SIGABRT
    std::string stderr_text;
};

// Runs f() in a child process. If f returns, the child exits with status 0 (not aborted).
template <class F>
child_outcome run_in_child(F&& f) {
    int pipe_fds[2];
    BOOST_TEST_REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        // Boost.Test's handlers would report the abort as a test failure of the child: restore
        // the default action, so that SIGABRT ends the child.
        std::signal(SIGABRT, SIG_DFL);
        ::close(pipe_fds[0]);
        ::dup2(pipe_fds[1], STDERR_FILENO);
        std::forward<F>(f)();
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    child_outcome outcome;
    char buffer[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) outcome.stderr_text.append(buffer, n);
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    outcome.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    return outcome;
}

// f() must abort with a hinge contract violation whose message contains `message`.
template <class F>
void expect_contract_violation(F&& f, const std::string& message) {
    const child_outcome o = run_in_child(std::forward<F>(f));
    BOOST_TEST(o.aborted, "the call did not abort; its stderr: '" << o.stderr_text << "'");
    BOOST_TEST(o.stderr_text.find("hinge: contract violation: " + message) != std::string::npos,
               "expected '" << message << "' in stderr '" << o.stderr_text << "'");
}

// f() must return normally (no contract violation) in a child, so that a wrong abort cannot end
// the test run.
template <class F>
void expect_no_contract_violation(F&& f) {
    const child_outcome o = run_in_child(std::forward<F>(f));
    BOOST_TEST(!o.aborted, "the call aborted: '" << o.stderr_text << "'");
}

}  // namespace hinge_test
