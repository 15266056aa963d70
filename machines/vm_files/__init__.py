"""Files of VMs: reading CSV, JSON, YAML and OpenSSH client config into rows (`reading`, `sshconfig`), and writing
the VMs a user sees in the same formats (`writing`). Nothing here touches the database: machines.imports decides what
each row does and writes it through machines.services.
"""
