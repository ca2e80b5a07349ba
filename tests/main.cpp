#define BOOST_TEST_MODULE hinge
#include <boost/test/unit_test.hpp>
