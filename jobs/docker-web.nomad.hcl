# The docker driver with a locally built image (scripts build nomadts/busybox:local;
# nothing is pulled from the internet).
job "docker-web" {
  type = "service"

  group "web" {
    network {
      port "http" {
        to = 8080
      }
    }

    service {
      name = "docker-web"
      port = "http"

      check {
        type     = "tcp"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "httpd" {
      driver = "docker"

      config {
        image        = "nomadts/busybox:local"
        force_pull   = false
        ports        = ["http"]
        command      = "httpd"
        args         = ["-f", "-p", "8080", "-h", "/local"]
      }

      template {
        data        = "hello from docker\n"
        destination = "local/index.html"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
