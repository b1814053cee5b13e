-- The built-in role `staff`: what the store's shared staff account holds (a member of this
-- store alone, signing the store's tills in). Rank 10 like cashiers; editable like the other
-- built-ins. Additive: the previous release reads it as any role the store defined.
--
-- A store that already defined a custom role with this code keeps it as it is: its members
-- keep what the owner gave them, and the staff account holds that role.
insert into roles (code, rank, permissions, built_in) values
    ('staff', 10, array['view_products', 'create_sales', 'view_customers', 'create_customers',
                        'update_products', 'manage_inventory'], true)
on conflict (code) do nothing;
