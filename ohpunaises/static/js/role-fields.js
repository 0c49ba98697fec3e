// On the invitation and person forms: the structure for agents and partner admins, the
// deployments for the other roles, each shown only when the chosen role uses it. Without
// this script both stay on the form, and the server keeps only what the role uses.
for (const group of document.querySelectorAll(".role-fields")) {
  const role = group.querySelector('select[name="role"]');
  const structure = group.querySelector('select[name="structure_id"]')?.closest(".field");
  const deployments = group.querySelector('input[name="deployment_ids"]')?.closest("fieldset");
  const structureRoles = group.dataset.structureRoles.split(" ");
  const show = () => {
    const chosen = role.value;
    if (structure) structure.hidden = chosen !== "" && !structureRoles.includes(chosen);
    if (deployments) deployments.hidden = chosen === "" || structureRoles.includes(chosen);
  };
  role?.addEventListener("change", show);
  if (role) show();
}
