# Placement rules over node attributes and meta: constraints, an affinity and a spread.
job "placement" {
  type        = "service"
  datacenters = ["dc1", "dc2"]

  constraint {
    attribute = "${attr.kernel.name}"
    operator  = "="
    value     = "linux"
  }

  group "app" {
    count = 6

    constraint {
      attribute = "${meta.rack}"
      operator  = "is_set"
    }

    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    constraint {
      distinct_property = "${meta.rack}"
      value             = "3"
    }

    affinity {
      attribute = "${node.datacenter}"
      value     = "dc1"
      weight    = 60
    }

    spread {
      attribute = "${meta.rack}"
      weight    = 80

      target "r1" {
        percent = 50
      }

      target "r2" {
        percent = 50
      }
    }

    task "app" {
      driver = "raw_exec"

      config {
        command = "sh"
        args    = ["-c", "echo running on rack ${meta.rack}; sleep 3600"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
