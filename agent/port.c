/* placeholder */ typedef int provium_placeholder;
