"""One router per noun of the admin API; jobu.api.resolver mounts them."""
