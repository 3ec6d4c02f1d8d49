#include "qemu/command_line.h"

#include <fmt/format.h>

#include <provium/error.h>

namespace provium::qemu {

namespace {

// QEMU's option parser splits on ',' and reads ",," as a literal comma.
std::string escape_option_value(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    escaped += c;
    if (c == ',') escaped += ',';
  }
  return escaped;
}

}  // namespace

std::string kernel_command_line(const std::string& init, transport::Kind transport, const std::string& append,
                                int max_workers, const std::string& root, const std::string& modules) {
  // panic=-1 reboots at once on a panic and -no-reboot turns that into QEMU exiting, so a
  // panic ends the VM immediately with its lines on the console. quiet keeps the slow emulated
  // UART out of the boot path (and tells an init such as systemd to say little); loglevel=5,
  // after it, still prints warnings (KERN_WARNING, 4): WARN_ON's report and lockdep's are
  // printed at that level, and the kernel report check reads them from the console.
  std::string line = fmt::format(
      "console=ttyS0 panic=-1 quiet loglevel=5 rdinit=/provium-wrapper provium.init={} provium.transport={}",
      init, transport::name(transport));
  if (transport == transport::Kind::vsock) line += fmt::format(" provium.max_workers={}", max_workers);
  if (!root.empty()) line += " provium.root=" + root;  // the wrapper mounts it and makes it the root
  if (!modules.empty() && modules.find_first_of(" \t\n") == std::string::npos) line += " provium.modules=" + modules;
  if (!append.empty()) line += " " + append;
  return line;
}

std::string cpu_model(const std::string& accel) { return accel == "kvm" ? "host" : "max,-erms,-fsrm"; }

std::vector<std::string> qemu_argv(const LaunchSpec& spec) {
  if (spec.machine != "q35" && spec.machine != "pc")
    throw Error(fmt::format("machine '{}' is not supported yet (q35, pc)", spec.machine));
  std::string machine = spec.machine;
  if (!spec.ram_file.empty()) machine += ",memory-backend=ram0";
  std::vector<std::string> argv = {
      spec.qemu, "-M", machine, "-accel", spec.accel,
      "-cpu", cpu_model(spec.accel),
      "-m", spec.memory, "-smp", std::to_string(spec.cpus),
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-kernel", spec.kernel.string(), "-initrd", spec.initrd.string(),
      "-append", spec.append,
      "-chardev", fmt::format("file,id=console,path={}", escape_option_value(spec.console_log)),
      "-serial", "chardev:console",
      "-qmp", fmt::format("unix:{},server=on,wait=off", escape_option_value(spec.qmp_socket)),
  };
  if (!spec.port_sockets.empty()) {
    argv.insert(argv.end(), {"-device", fmt::format("virtio-serial-pci,id=vser0,max_ports={}",
                                                    spec.port_sockets.size() + 1)});
    for (std::size_t i = 0; i < spec.port_sockets.size(); ++i) {
      argv.insert(argv.end(),
                  {"-chardev", fmt::format("socket,id=port{},path={},server=on,wait=off", i,
                                           escape_option_value(spec.port_sockets[i])),
                   // nr 0 is reserved for a console, so port i is nr i+1.
                   "-device", fmt::format("virtserialport,bus=vser0.0,nr={},chardev=port{},name=provium.{}",
                                          i + 1, i, i)});
    }
  }
  // QEMU opens /dev/vhost-vsock itself; a CID another VM holds makes it exit at once with
  // "unable to set guest cid" (transport/cid.h retries with the next one).
  if (spec.vsock_cid)
    argv.insert(argv.end(), {"-device", fmt::format("vhost-vsock-pci,id=vsock0,guest-cid={}", *spec.vsock_cid)});
  if (!spec.ram_file.empty())
    argv.insert(argv.end(),
                {"-object", fmt::format("memory-backend-file,id=ram0,size={},mem-path={},share={}",
                                        spec.memory, escape_option_value(spec.ram_file),
                                        spec.ram_shared ? "on" : "off")});
  if (spec.incoming) argv.insert(argv.end(), {"-incoming", "defer"});
  if (!spec.gdb_socket.empty())
    argv.insert(argv.end(), {"-gdb", fmt::format("unix:{},server=on,wait=off", escape_option_value(spec.gdb_socket))});
  for (const Drive& drive : spec.drives) {
    if (drive.format != "raw" && drive.format != "qcow2")
      throw Error(fmt::format("disk {}: format '{}' is not raw or qcow2", drive.path.string(), drive.format));
    argv.insert(argv.end(), {"-drive", fmt::format("file={},format={},if=virtio,readonly={}{}",
                                                   escape_option_value(drive.path.string()), drive.format,
                                                   drive.readonly ? "on" : "off",
                                                   drive.discard_writes ? ",snapshot=on" : "")});
  }
  // security_model=none: the files are the QEMU user's, as any program of the user's would
  // make them; no root, no helper daemon.
  for (std::size_t i = 0; i < spec.exports.size(); ++i) {
    const Export& share = spec.exports[i];
    // multidevs=remap: a directory with mounts under it (the host's root) keeps its inode
    // numbers unique in the guest.
    argv.insert(argv.end(), {"-fsdev", fmt::format("local,id=fs{},path={},security_model=none,multidevs=remap{}", i,
                                                   escape_option_value(share.path.string()),
                                                   share.readonly ? ",readonly=on" : ""),
                             "-device", fmt::format("virtio-9p-pci,fsdev=fs{},mount_tag={}", i, share.tag)});
  }
  return argv;
}

}  // namespace provium::qemu
